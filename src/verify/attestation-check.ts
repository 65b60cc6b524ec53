/**
 * What both attestation layouts check once the signature itself verified
 * (./check.ts verifyBundle): the DSSE payload is an in-toto statement, one of
 * its subjects is the image's digest (cosign's IntotoSubjectClaimVerifier,
 * pkg/cosign/verifiers.go: `"sha256:" + hex` compared as a string), and its
 * predicateType is the one asked for (pkg/policy/attestation.go compares it
 * verbatim, after crypto). The subject's `name` is not checked, as by cosign,
 * gh and Kyverno: the digest is what binds an attestation to an image.
 */
import { INTOTO_PAYLOAD_TYPE, statementClaims } from '../formats/bundle.js';
import { failed, type SignatureVerdict } from './check.js';

/** The verdict on one attestation: a signature verdict that also says what the statement is about. */
export interface AttestationVerdict extends SignatureVerdict {
  /** The statement's predicateType, when it could be read. */
  predicateType?: string;
}

/** The DSSE envelope as both layouts hold it (the `.att` layer blob, the bundle's `dsseEnvelope`). */
export interface Envelope {
  payloadType?: unknown;
  payload?: unknown;
  signatures?: unknown;
}

/** The predicateType a DSSE payload declares, read before anything is verified (to report what was found). */
export function declaredPredicateType(envelope: Envelope | undefined): string | undefined {
  if (typeof envelope?.payload !== 'string') return undefined;
  return statementClaims(Buffer.from(envelope.payload, 'base64'))?.predicateType;
}

/**
 * After the signature verified: the statement's claims. `predicateType`
 * undefined accepts any type (a self-check of an attestation just written
 * knows its own).
 */
export function statementVerdict(verified: SignatureVerdict, envelope: Envelope, digest: string, predicateType: string | undefined): AttestationVerdict {
  const claims = typeof envelope.payload === 'string' ? statementClaims(Buffer.from(envelope.payload, 'base64')) : undefined;
  const found = claims?.predicateType;
  const withType: AttestationVerdict = { ...verified, ...(found !== undefined ? { predicateType: found } : {}) };
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE || !claims) {
    return failed(withType, 'digest-claim', `the signed payload is not an in-toto statement (payload type ${String(envelope.payloadType ?? 'none')})`);
  }
  if (!claims.subjectDigests.includes(digest)) {
    return failed(withType, 'digest-claim', `the signed statement is about ${claims.subjectDigests.join(', ') || 'no digest'}, not ${digest} (copied from another image?)`);
  }
  if (predicateType !== undefined && found !== predicateType) {
    return failed(withType, 'predicate-type', `an attestation of another type: ${found ?? '(none)'}, not ${predicateType}`);
  }
  return withType;
}
