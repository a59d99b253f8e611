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
