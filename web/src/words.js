// The contracts' typed errors and deny reasons, in words a patient can act on.
export const ERROR_WORDS = {
  NotAdmin: 'Only the administrator may do this.',
  Paused: 'The system is paused by its administrator: nothing that widens access goes through. Revoking still works.',
  NotPatientOrDelegate: 'This account is neither the patient nor a current delegate of the patient.',
  SelfGrant: 'You cannot grant access to yourself.',
  AnyoneMayOnlyBeDenied: '"Anyone" can only be restricted, never permitted.',
  InvalidActions: 'Choose at least one action.',
  InvalidPurposes: 'Choose at least one purpose. "My own request" can only be forbidden: you and your delegates have it without a grant.',
  InvalidWindow: 'The end of the validity period must be in the future and after its start.',
  UnknownRecord: 'That record is not one of yours.',
  RegistryUnavailable: 'The record registry could not be asked; try again later.',
  TooManyRules: 'This provider already has the maximum of 8 active rules from you: revoke one first.',
  ConsentNotFound: 'No such consent.',
  AlreadyRevoked: 'This consent is already revoked.',
  ConsentMismatch: 'The consent with this number is not the one shown here, so nothing was revoked: the node this page reads may be listing your consents wrongly.',
  CounterOverflow: 'A counter is exhausted.',
  LogUnavailable: 'The audit log did not take the entry, so nothing was changed.',
  SignatureExpired: 'The signed consent is past its deadline.',
  NonceUsed: 'This signed consent was already used, or you voided it.',
  NotAContract: 'A peer or log writer must be a contract, never a wallet.',
  NothingScheduled: 'No change is announced.',
  NotYetDue: 'The announced change is not due yet: its delay has not passed.',
  RecordIdTaken: 'Another record took that id first: seal again for the next id.',
  BadSignature: 'The signature does not match these exact terms, this patient, this contract and this chain.',
};

export function errorInWords(name) {
  return ERROR_WORDS[name] ?? `The contract refused: ${name}.`;
}

export const PURPOSES = ['treatment', 'emergency treatment', 'payment', 'operations', 'research', 'public health', 'my own request'];

export function purposesInWords(bits) {
  return PURPOSES.filter((_, i) => bits & (1 << i)).join(', ') || '-';
}

export const ACTIONS = ['read', 'add records'];

export function actionsInWords(bits) {
  return ACTIONS.filter((_, i) => bits & (1 << i)).join(' and ') || '-';
}

/** A category's name from the configuration's one table, or `category-N`. */
export function categoryName(categories, code) {
  const number = Number(code);
  return categories.find((c) => c.code === number)?.name ?? `category-${number}`;
}

/** A chain time (ms) as this browser's local date and time. */
export function localTime(ms) {
  return new Date(Number(ms)).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A consent's state as the patient means it: an active rule past its end has expired. */
export function consentState({ status, validFrom, validUntil }, now) {
  if (status !== 'Active') return 'revoked';
  if (validUntil !== null && now >= validUntil) return 'expired';
  if (now < validFrom) return 'not yet in force';
  return 'active';
}

const DENY_WORDS = {
  NoConsent: 'no consent of yours permits it',
  NotProvider: 'the reader is not in the provider directory',
  ProviderSuspended: 'the reader is suspended',
  NotResponder: 'break-glass takes the emergency-responder role',
  EmergencyOptedOut: 'you refuse break-glass access',
  RecordRetired: 'the record is retired',
  Paused: 'the system is paused',
  ConsentUnavailable: 'your consents could not be asked',
  EmergencyLimit: "this responder's break-glass budget is spent for now",
};

/** What a log entry says happened, in words (`kind` as the contract's metadata decodes it). */
export function entryInWords(kind) {
  if (kind.isDenied) {
    const reason = kind.asDenied;
    const why = reason.isRestricted ? `your restriction ${reason.asRestricted} forbids it`
      : DENY_WORDS[reason.type] ?? reason.type;
    return `Refused: ${why}`;
  }
  if (kind.isEmergency) return 'Break-glass access';
  if (kind.isReview) {
    return `Break-glass ${kind.asReview.emergencySeq} reviewed: ${kind.asReview.justified.isTrue ? 'justified' : 'not justified'}`;
  }
  if (kind.isEmergencyOptOut) return kind.asEmergencyOptOut.optedOut.isTrue ? 'Break-glass refused' : 'Break-glass allowed';
  return {
    Access: 'Opened',
    RecordCreated: 'Record added',
    RecordAmended: 'Record amended',
    RecordRetired: 'Record retired',
    ConsentGranted: 'Consent given',
    ConsentRevoked: 'Consent revoked',
  }[kind.type] ?? kind.type;
}

const PURPOSE_VARIANTS = ['Treat', 'EmergencyTreat', 'Payment', 'Operations', 'Research', 'PublicHealth', 'PatientRequest'];

/** A Purpose variant's name (as the metadata decodes it) in words. */
export function purposeInWords(variant) {
  return PURPOSES[PURPOSE_VARIANTS.indexOf(variant)] ?? variant;
}
