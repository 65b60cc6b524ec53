/**
 * cosign's legacy attestation layout: the DSSE envelope of an in-toto
 * statement as one layer of the OCI manifest tagged `sha256-<hex>.att`
 * (attestations.md §1; cosign 2 `attest`, read by cosign 2/3
 * `verify-attestation`, Kyverno `type: Cosign`, policy-controller). The
 * manifest and config are those of `.sig` (./legacy.ts). Bytes only, no I/O.
 */
import type { RekorEntry } from '../transparency/rekor.js';
import {
  ANNOTATION_PREDICATE_TYPE_LEGACY,
  DSSE_ENVELOPE_MEDIA_TYPE,
  INTOTO_PAYLOAD_TYPE,
  STATEMENT_TYPE_V1,
} from './attestation-constants.js';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  rekorBundleAnnotation,
  sha256Hex,
  type LayerDescriptor,
} from './legacy.js';

export interface StatementSubject {
  /** The repository without tag or digest (`ghcr.io/acme/app`), as cosign and actions/attest name it. */
  name: string;
  /** `sha256:<hex>` */
  digest: string;
}

/**
 * The in-toto Statement v1 about one image, serialized as actions/attest does
 * (`JSON.stringify`, keys `_type`, `subject`, `predicateType`, `predicate`).
 * cosign 2 writes `_type` v0.1; every verifier reads both.
 */
export function attestationStatement(subject: StatementSubject, predicateType: string, predicate: unknown): Buffer {
  const [algorithm, hex] = subject.digest.split(':');
  if (!algorithm || !hex) throw new Error(`not a digest: ${subject.digest}`);
  return Buffer.from(
    JSON.stringify({ _type: STATEMENT_TYPE_V1, subject: [{ name: subject.name, digest: { [algorithm]: hex } }], predicateType, predicate }),
  );
}

/** The size of the DSSE envelope of a statement of `statementBytes` bytes (size checks before anything is signed or sent). */
export function envelopeSizeFor(statementBytes: number): number {
  // base64 of the statement, the signature (~100 bytes base64) and the JSON around them.
  return 4 * Math.ceil(statementBytes / 3) + 256 + INTOTO_PAYLOAD_TYPE.length;
}

export interface AttestationLayerParts {
  /** The DSSE envelope JSON exactly as sent to Rekor: the layer blob. */
  envelope: Buffer;
  predicateType: string;
  certificatePem: string;
  chainPems: string[];
  rekor: RekorEntry;
  rfc3161TimestampB64?: string;
}

/**
 * One `.att` layer: the envelope is the blob, the signature annotation is
 * empty (the signature is inside the envelope), then cosign 2's
 * certificate, chain, Rekor bundle and `predicateType` annotations, keys in
 * Go's sorted order.
 */
export function attestationLayer(parts: AttestationLayerParts): LayerDescriptor {
  if (parts.chainPems.length === 0) throw new Error('a legacy attestation needs the certificate chain (Kyverno reads it)');
  const annotations: Record<string, string> = {
    [ANNOTATION_SIGNATURE]: '',
    [ANNOTATION_BUNDLE]: rekorBundleAnnotation(parts.rekor),
    [ANNOTATION_CERTIFICATE]: parts.certificatePem,
    [ANNOTATION_CHAIN]: parts.chainPems.join(''),
    [ANNOTATION_PREDICATE_TYPE_LEGACY]: parts.predicateType,
  };
  if (parts.rfc3161TimestampB64) annotations[ANNOTATION_RFC3161] = JSON.stringify({ SignedRFC3161Timestamp: parts.rfc3161TimestampB64 });
  const sorted = Object.fromEntries(Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { mediaType: DSSE_ENVELOPE_MEDIA_TYPE, size: parts.envelope.length, digest: `sha256:${sha256Hex(parts.envelope)}`, annotations: sorted };
}
