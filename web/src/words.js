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
  Unauthorized: 'This account may not write this record: the patient, a delegate, or a provider whose consent allows adding records of this category for this purpose.',
  RecordNotFound: 'No such record.',
  HashAlreadyRegistered: 'This exact ciphertext is already registered.',
  ZeroHash: 'A record needs a content hash.',
  LocatorTooLong: 'The locator is too long.',
  EmptyJustification: 'Break-glass needs a justification.',
  EmergencyNotFound: 'No such break-glass access.',
  AlreadyReviewed: 'That break-glass access is already reviewed.',
  NothingToReview: 'Choose at least one break-glass access to review.',
  TooManyReviews: 'Too many reviews at once: submit fewer.',
  EmptyChart: 'Choose at least one record.',
  ChartTooLarge: 'Too many records at once.',
  ProviderNotFound: 'This account is not in the provider directory.',
  ProviderNotActive: 'This provider is suspended in the directory.',
  InvalidKey: 'That is not a usable public key.',
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

// The same reasons told to the reader rather than the patient.
const READER_DENY_WORDS = {
  ...DENY_WORDS,
  NoConsent: "no consent of the patient's permits it",
  NotProvider: 'your account is not in the provider directory',
  ProviderSuspended: 'your account is suspended in the directory',
  NotResponder: 'break-glass takes the emergency-responder role, which your account lacks',
  EmergencyOptedOut: 'the patient refuses break-glass access',
  ConsentUnavailable: "the patient's consents could not be asked",
  EmergencyLimit: 'your break-glass budget for this patient is spent for now',
};

/** A DenyReason in words, to the patient or (`toReader`) to the one refused. */
export function denialInWords(reason, toReader = false) {
  if (reason.isRestricted) {
    return `${toReader ? "the patient's" : 'your'} restriction ${reason.asRestricted} forbids it`;
  }
  return (toReader ? READER_DENY_WORDS : DENY_WORDS)[reason.type] ?? reason.type;
}

/** What a log entry says happened, in words (`kind` as the contract's metadata decodes it). */
export function entryInWords(kind, toReader = false) {
  if (kind.isDenied) return `Refused: ${denialInWords(kind.asDenied, toReader)}`;
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
