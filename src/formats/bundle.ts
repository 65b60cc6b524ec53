/**
 * cosign 3's signature format: an in-toto statement about the image digest in
 * a DSSE envelope, wrapped in a Sigstore bundle v0.3 and stored as an OCI 1.1
 * referrer of the image (formats.md "Bundle format"). This file only builds
 * and reads bytes; it does no I/O.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import type { RekorEntry } from '../transparency/rekor.js';
import { sha256Hex } from './legacy.js';
import { pemToDerB64, tlogEntryJson } from './message-bundle.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const ANNOTATION_BUNDLE_CONTENT = 'dev.sigstore.bundle.content';
export const ANNOTATION_PREDICATE_TYPE = 'dev.sigstore.bundle.predicateType';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The OCI empty descriptor: config of artifacts that have none (image-spec 1.1). */
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: `sha256:${sha256Hex(EMPTY_CONFIG_BYTES)}`,
  size: EMPTY_CONFIG_BYTES.length,
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

const sortedKeys = (r: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * The statement cosign 3 signs for `digest` (cmd/cosign/cli/sign/sign.go,
 * signDigestBundle): protojson of an in-toto v1 Statement, so fields in proto
 * order, no `name` on the subject, and `annotations` present even when empty
 * (structpb.NewStruct never returns nil). Annotation keys sorted, as protojson
 * writes map keys. Like protojson (and unlike encoding/json) `<`, `>`, `&` stay
 * unescaped; verifiers parse the JSON, so only its meaning has to match.
 */
export function signStatement(digest: string, annotations: Record<string, string> = {}): Buffer {
  const [algorithm, hex] = digest.split(':');
  if (!algorithm || !hex) throw new Error(`not a digest: ${digest}`);
  return Buffer.from(
    JSON.stringify({
      _type: STATEMENT_TYPE,
      subject: [{ digest: { [algorithm]: hex }, annotations: sortedKeys(annotations) }],
      predicateType: SIGN_PREDICATE_TYPE,
      predicate: {},
    }),
  );
}

/** DSSE v1 pre-authentication encoding: what is actually signed. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: { sig: string }[];
}

export function dsseEnvelope(payload: Buffer, signature: Buffer, payloadType = INTOTO_PAYLOAD_TYPE): DsseEnvelope {
  return { payload: payload.toString('base64'), payloadType, signatures: [{ sig: signature.toString('base64') }] };
}

/** Rekor v1 proposed entry of kind `dsse` 0.0.1; the verifier is the certificate, not a bare key. */
export function dsseProposal(envelope: DsseEnvelope, certificatePem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      proposedContent: {
        envelope: JSON.stringify(envelope),
        verifiers: [Buffer.from(certificatePem).toString('base64')],
      },
    },
  };
}

/**
 * The bundle's `tlogEntries[]` element (protobuf JSON) as Rekor v2 answers it.
 * protojson omits zero values: index 0, integrated time 0 and an empty proof
 * path are absent.
 */
export interface TlogEntryJson {
  logIndex?: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime?: string;
  inclusionProof: { logIndex?: string; rootHash: string; treeSize: string; hashes?: string[]; checkpoint: { envelope: string } };
  canonicalizedBody: string;
  [other: string]: unknown;
}

export interface DsseBundleInput {
  envelope: DsseEnvelope;
  /** The leaf only: v0.3 bundles carry no chain. */
  certificatePem: string;
  /** A Rekor v1 entry (with inclusion proof and promise), or Rekor v2's entry as it answered. */
  rekor: RekorEntry | { v2: TlogEntryJson };
  /** RFC 3161 TimeStampResp over the signature bytes, DER; required with Rekor v2 (no signing time). */
  rfc3161Timestamps?: Buffer[];
}

/** The Sigstore bundle v0.3 (protobuf JSON) for one DSSE signature. */
export function dsseBundle(input: DsseBundleInput): SerializedBundle {
  const timestamps = input.rfc3161Timestamps ?? [];
  let tlogEntry: object;
  if ('v2' in input.rekor) {
    if (!timestamps.length) throw new Error('a bundle logged in Rekor v2 needs an RFC 3161 timestamp (v2 gives no signing time)');
    tlogEntry = input.rekor.v2;
  } else {
    if (!input.rekor.inclusionProof) throw new Error('a v0.3 bundle needs the log entry with its inclusion proof');
    tlogEntry = tlogEntryJson(input.rekor, true);
  }
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: {
      certificate: { rawBytes: pemToDerB64(input.certificatePem) },
      tlogEntries: [tlogEntry],
      ...(timestamps.length
        ? { timestampVerificationData: { rfc3161Timestamps: timestamps.map((t) => ({ signedTimestamp: t.toString('base64') })) } }
        : {}),
    },
    dsseEnvelope: input.envelope,
  } as unknown as SerializedBundle;
}

export const referrerAnnotations = (created: Date): Record<string, string> => ({
  [ANNOTATION_BUNDLE_CONTENT]: 'dsse-envelope',
  [ANNOTATION_PREDICATE_TYPE]: SIGN_PREDICATE_TYPE,
  // RFC 3339 in UTC without fractions, as Go's time.RFC3339 writes it.
  [ANNOTATION_CREATED]: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
});

/**
 * The referrer manifest, pushed by digest: the empty config, one layer holding
 * the bundle JSON, `subject` = the signed manifest as the registry describes it.
 */
export function referrerManifest(subject: Descriptor, bundleLayer: Descriptor, annotations: Record<string, string>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_MEDIA_TYPE,
      config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
      layers: [{ mediaType: bundleLayer.mediaType, digest: bundleLayer.digest, size: bundleLayer.size }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: sortedKeys(annotations),
    }),
  );
}

/** The referrer's entry in a referrers list (API answer or fallback index). */
export function referrerDescriptor(manifest: Buffer, annotations: Record<string, string>): Descriptor {
  return {
    mediaType: OCI_MANIFEST,
    digest: `sha256:${sha256Hex(manifest)}`,
    size: manifest.length,
    artifactType: BUNDLE_MEDIA_TYPE,
    annotations: sortedKeys(annotations),
  };
}

/** The referrers tag schema: `sha256:abc…` → `sha256-abc…` (no `.sig`), at most 128 characters. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}

export interface StatementClaims {
  type?: string;
  predicateType?: string;
  /**
   * `sha256:<hex>` (or another algorithm) for each subject digest, exactly as
   * written: cosign compares `"sha256:" + hex` with the image digest as a
   * string (pkg/cosign/verifiers.go, IntotoSubjectClaimVerifier), so an
   * upper-case hex digest does not name the image for it, nor for us.
   */
  subjectDigests: string[];
}

/** What a signed statement claims, or undefined when it is not an in-toto statement. */
export function statementClaims(payload: Buffer): StatementClaims | undefined {
  let s: { _type?: unknown; predicateType?: unknown; subject?: unknown };
  try {
    s = JSON.parse(payload.toString('utf8')) as typeof s;
  } catch {
    return undefined;
  }
  if (typeof s !== 'object' || s === null || !Array.isArray(s.subject)) return undefined;
  const subjectDigests = (s.subject as { digest?: Record<string, unknown> }[]).flatMap((sub) =>
    Object.entries(sub?.digest ?? {})
      .filter(([, v]) => typeof v === 'string')
      .map(([alg, v]) => `${alg}:${String(v)}`),
  );
  return {
    type: typeof s._type === 'string' ? s._type : undefined,
    predicateType: typeof s.predicateType === 'string' ? s.predicateType : undefined,
    subjectDigests,
  };
}
