/**
 * cosign's legacy attestation layout (attestations.md §1): an OCI image tagged
 * `sha256-<hex>.att` whose layers are DSSE envelopes
 * (`application/vnd.dsse.envelope.v1+json`), each with the certificate, chain
 * and Rekor-bundle annotations of a `.sig` layer and an empty signature
 * annotation. Each layer maps onto a v0.1 Sigstore bundle (DSSE envelope + the
 * log's promise) verified with @sigstore/verify, plus what cosign's `.att` path
 * checks on top (pkg/cosign/verify.go VerifyBundle): the log entry's envelope
 * hash is the layer blob's digest.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import type { IdentityPolicy } from '../config-types.js';
import { ANNOTATION_PREDICATE_TYPE_LEGACY, attestationTag, DSSE_ENVELOPE_MEDIA_TYPE } from '../formats/attestation-constants.js';
import { ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, sha256Hex, type LayerDescriptor } from '../formats/legacy.js';
import { pemToDerB64, tlogEntryJson } from '../formats/message-bundle.js';
import type { RekorEntry } from '../transparency/rekor.js';
import { declaredPredicateType, statementVerdict, type AttestationVerdict, type Envelope } from './attestation-check.js';
import { failed, verifyBundle } from './check.js';
import { verifyIntotoV001 } from './attestation-intoto.js';
import { legacyIssuerMismatch } from './cosign-issuer.js';
import { entryFromAnnotation, MAX_SIGNATURE_LAYERS, type RepoRef, type SignatureReader } from './legacy.js';
import type { Trust } from './trust.js';

/**
 * An SBOM attestation can be large: actions/attest caps predicates at 16 MiB,
 * base64 makes that about 21.4 MiB. cosign reads up to 128 MiB; we stop well
 * before, at a size no real attestation reaches.
 */
export const MAX_ATTESTATION_BYTES = 32 * 1024 * 1024;

/** The envelope digest a log entry records: cosign's bundleHash (dsse `envelopeHash`, intoto `content.hash`). */
function loggedEnvelopeHash(entry: RekorEntry): string | undefined {
  try {
    const body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8')) as {
      spec?: { envelopeHash?: { value?: unknown }; content?: { hash?: { value?: unknown } } };
    };
    const value = body.spec?.envelopeHash?.value ?? body.spec?.content?.hash?.value;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Log entry kinds matched to a DSSE envelope: by @sigstore/verify, and intoto 0.0.1 by ./attestation-intoto.ts. */
const SUPPORTED_KINDS = new Set(['dsse/0.0.1', 'intoto/0.0.1', 'intoto/0.0.2']);

function parseEnvelope(blob: Buffer): Envelope | undefined {
  try {
    const e = JSON.parse(blob.toString('utf8')) as Envelope;
    return typeof e === 'object' && e !== null && typeof e.payload === 'string' && Array.isArray(e.signatures) ? e : undefined;
  } catch {
    return undefined;
  }
}

const NO_CHAIN = 'no certificate chain annotation (dev.sigstore.cosign/chain): Kyverno `type: Cosign` cannot verify it';

/** Judges one `.att` layer whose blob was read. `predicateType` undefined accepts any type. */
export function verifyAttestationLayer(
  layer: LayerDescriptor,
  blob: Buffer,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
  reference: string,
  predicateType: string | undefined,
): AttestationVerdict {
  const a = layer.annotations ?? {};
  const envelope = parseEnvelope(blob);
  const declared = declaredPredicateType(envelope);
  const base = { format: 'legacy' as const, reference, ...(declared !== undefined ? { predicateType: declared } : {}) };
  if (!envelope) return failed(base, 'malformed', `layer ${layer.digest} is not a DSSE envelope`);
  if (!a[ANNOTATION_CERTIFICATE]) return failed(base, 'malformed', `layer ${layer.digest} has no certificate annotation (a key-based attestation?)`);
  if (!a[ANNOTATION_BUNDLE]) return failed(base, 'log-proof', 'missing transparency-log proof (no dev.sigstore.cosign/bundle annotation)');
  let rekor: RekorEntry;
  try {
    rekor = entryFromAnnotation(a[ANNOTATION_BUNDLE]);
  } catch {
    return failed(base, 'log-proof', 'the dev.sigstore.cosign/bundle annotation is not readable');
  }
  const withLog = { ...base, logIndex: rekor.logIndex, logId: rekor.logId, integratedTime: rekor.integratedTime };
  const kind = `${rekor.kind}/${rekor.apiVersion}`;
  if (!SUPPORTED_KINDS.has(kind)) {
    return failed(withLog, 'log-proof', `its log entry is of kind ${kind}, which no verifier matches to an envelope (dsse 0.0.1 and intoto 0.0.1/0.0.2 are read)`);
  }
  const logged = loggedEnvelopeHash(rekor);
  if (logged !== sha256Hex(blob)) {
    return failed(withLog, 'log-proof', `the transparency-log entry is for another envelope (it records sha256 ${logged ?? 'nothing'}, the layer is ${sha256Hex(blob)})`);
  }
  let bundle: SerializedBundle;
  try {
    bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: pemToDerB64(a[ANNOTATION_CERTIFICATE]) }] },
        tlogEntries: [tlogEntryJson({ ...rekor, inclusionProof: undefined }, false)],
      },
      dsseEnvelope: envelope,
    } as unknown as SerializedBundle;
  } catch (err) {
    return failed(withLog, 'malformed', `the certificate annotation cannot be read: ${(err as Error).message}`);
  }
  // cosign ignores the RFC 3161 annotation unless --use-signed-timestamps: the log's time is the signing time here too.
  const verified = kind === 'intoto/0.0.1' ? verifyIntotoV001(bundle, trust, policy, withLog) : verifyBundle(bundle, undefined, trust, policy, withLog);
  if (!verified.ok) return verified;
  const judged = statementVerdict(verified, envelope, digest, predicateType);
  if (!judged.ok) return judged;
  const notes = a[ANNOTATION_CHAIN] ? [] : [NO_CHAIN];
  const cosignRejects = legacyIssuerMismatch(a[ANNOTATION_CERTIFICATE], judged.issuer ?? '');
  if (cosignRejects) notes.push(cosignRejects);
  return { ...judged, ...(notes.length ? { note: notes.join('; ') } : {}), ...(cosignRejects ? { cosignRejects } : {}) };
}

/** Every attestation in the `.att` tag of `digest` (at most 1000 layers, as cosign), judged. */
export async function verifyLegacyAttestations(
  reader: SignatureReader,
  repo: RepoRef,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
  predicateType: string | undefined,
): Promise<AttestationVerdict[]> {
  const reference = `${repo.registry}/${repo.repository}:${attestationTag(digest)}`;
  const manifest = await reader.getManifest(repo, attestationTag(digest));
  if (!manifest) return [];
  const all = (manifest.json as { layers?: LayerDescriptor[] }).layers ?? [];
  if (all.length > MAX_SIGNATURE_LAYERS) {
    const why = `cosign rejects this .att: it has ${all.length} layers, more than the ${MAX_SIGNATURE_LAYERS} cosign reads, so no attestation in it counts`;
    return [failed({ format: 'legacy', reference }, 'malformed', why)];
  }
  const verdicts: AttestationVerdict[] = [];
  for (const layer of all.filter((l) => l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE)) {
    let blob: Buffer;
    try {
      blob = await reader.getBlob(repo, layer.digest, MAX_ATTESTATION_BYTES);
    } catch (err) {
      // One unreadable layer must not hide the others.
      const hinted = layer.annotations?.[ANNOTATION_PREDICATE_TYPE_LEGACY];
      verdicts.push(failed({ format: 'legacy', reference, ...(hinted ? { predicateType: hinted } : {}) }, 'malformed', `the envelope ${layer.digest} cannot be read: ${(err as Error).message}`));
      continue;
    }
    verdicts.push(verifyAttestationLayer(layer, blob, digest, trust, policy, reference, predicateType));
  }
  return verdicts;
}
