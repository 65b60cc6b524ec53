/**
 * Reads cosign `.sig` signatures of a digest back from the registry and judges
 * each: the layer maps onto a v0.1 Sigstore bundle (message signature + the
 * hashedrekord promise from `dev.sigstore.cosign/bundle`), verified with
 * @sigstore/verify, then the payload's digest claim and the chain annotation.
 */
import type { IdentityPolicy } from '../config-types.js';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  sha256Hex,
  signatureTag,
  type LayerDescriptor,
} from '../formats/legacy.js';
import { messageSignatureBundle } from '../formats/message-bundle.js';
import type { RekorEntry } from '../transparency/rekor.js';
import { failed, verifyBundle, type SignatureVerdict } from './check.js';
import { legacyIssuerMismatch } from './cosign-issuer.js';
import type { Trust } from './trust.js';

/** cosign reads no `.sig` with more layers than this; we read at most this many (bounded memory). */
export const MAX_SIGNATURE_LAYERS = 1000;
/** A simple-signing payload is a few hundred bytes; annotations make it larger, never this large. */
const MAX_PAYLOAD_BYTES = 64 * 1024;

export interface SignatureReader {
  getManifest(repo: RepoRef, ref: string): Promise<{ body: Buffer; json: unknown } | undefined>;
  getBlob(repo: RepoRef, digest: string, maxBytes?: number): Promise<Buffer>;
}
export interface RepoRef {
  registry: string;
  repository: string;
}

interface CosignBundleAnnotation {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

export function entryFromAnnotation(text: string): RekorEntry {
  const a = JSON.parse(text) as CosignBundleAnnotation;
  const body = JSON.parse(Buffer.from(a.Payload.body, 'base64').toString('utf8')) as { kind?: string; apiVersion?: string };
  return {
    uuid: '',
    logIndex: a.Payload.logIndex,
    logId: a.Payload.logID,
    integratedTime: a.Payload.integratedTime,
    body: a.Payload.body,
    signedEntryTimestamp: a.SignedEntryTimestamp,
    kind: body.kind ?? 'hashedrekord',
    apiVersion: body.apiVersion ?? '0.0.1',
  };
}

function rfc3161FromAnnotation(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { SignedRFC3161Timestamp?: string }).SignedRFC3161Timestamp;
  } catch {
    return undefined;
  }
}

/** The log index a layer's `dev.sigstore.cosign/bundle` names, read without fetching anything. */
export function layerLogIndex(layer: LayerDescriptor): number | undefined {
  try {
    return entryFromAnnotation(layer.annotations?.[ANNOTATION_BUNDLE] ?? '').logIndex;
  } catch {
    return undefined;
  }
}

/** Checks the payload claims the digest we asked about (cosign checks the same). */
export function digestClaim(payload: Buffer): string | undefined {
  try {
    const p = JSON.parse(payload.toString('utf8')) as { critical?: { image?: { 'docker-manifest-digest'?: string }; type?: string } };
    return p.critical?.type === 'cosign container image signature' ? p.critical.image?.['docker-manifest-digest'] : undefined;
  } catch {
    return undefined;
  }
}

export interface LegacyCheckOptions {
  /**
   * Fail a layer without the chain annotation. Our own signatures must carry it
   * (Kyverno `type: Cosign` builds its intermediates only from it), so the
   * self-check requires it; cosign does not, so verify mode only notes it.
   */
  requireChain?: boolean;
  /** Only layers this accepts are read and verified (the self-check: just our own layer). */
  only?: (layer: LayerDescriptor) => boolean;
  /**
   * Judge the `dev.sigstore.cosign/rfc3161timestamp` annotation as cosign
   * does: its `.sig` path reads it only with `--use-signed-timestamps`
   * (cmd/cosign/cli/verify/verify.go sets UseSignedTimestamps from that flag
   * or a TSA chain; pkg/cosign/verify.go verifyInternal checks it only then),
   * while @sigstore/verify fails every timestamp that does not verify (one
   * from a TSA outside the trusted root, say). So verify mode judges such a
   * layer again without it, by its log entry's time, and notes it. The
   * self-check does not: what we wrote must verify whole.
   */
  tolerateTimestamp?: boolean;
}

const NO_CHAIN = 'no certificate chain annotation (dev.sigstore.cosign/chain): Kyverno `type: Cosign` cannot verify it';

export function verifyLegacyLayer(
  layer: LayerDescriptor,
  payload: Buffer,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
  reference: string,
  opts: LegacyCheckOptions = {},
): SignatureVerdict {
  const base = { format: 'legacy' as const, reference };
  const a = layer.annotations ?? {};
  if (!a[ANNOTATION_SIGNATURE] || !a[ANNOTATION_CERTIFICATE]) {
    return failed(base, 'malformed', `layer ${layer.digest} has no signature or certificate annotation (a key-based signature?)`);
  }
  if (!a[ANNOTATION_BUNDLE]) return failed(base, 'log-proof', 'missing transparency-log proof (no dev.sigstore.cosign/bundle annotation)');
  const requireChain = opts.requireChain ?? true;
  if (!a[ANNOTATION_CHAIN] && requireChain) return failed(base, 'chain', NO_CHAIN);
  let rekor: RekorEntry;
  try {
    rekor = entryFromAnnotation(a[ANNOTATION_BUNDLE]);
  } catch {
    return failed(base, 'log-proof', 'the dev.sigstore.cosign/bundle annotation is not readable');
  }
  const timestamp = rfc3161FromAnnotation(a[ANNOTATION_RFC3161]);
  const judge = (rfc3161TimestampB64: string | undefined): SignatureVerdict => {
    const bundle = messageSignatureBundle({
      payloadSha256Hex: sha256Hex(payload),
      signatureB64: a[ANNOTATION_SIGNATURE],
      certificatePem: a[ANNOTATION_CERTIFICATE],
      rekor: { ...rekor, inclusionProof: undefined },
      rfc3161TimestampB64,
    });
    return verifyBundle(bundle, payload, trust, policy, { ...base, logIndex: rekor.logIndex, integratedTime: rekor.integratedTime });
  };
  let verdict: SignatureVerdict;
  try {
    verdict = judge(timestamp);
  } catch (err) {
    // One layer with a garbled certificate must not hide the others' verdicts.
    return failed(base, 'malformed', `the certificate annotation cannot be read: ${(err as Error).message}`);
  }
  const notes: string[] = [];
  if (!verdict.ok && timestamp && opts.tolerateTimestamp) {
    const withTimestamp = verdict;
    verdict = judge(undefined);
    if (verdict.ok) notes.push(`its RFC 3161 timestamp annotation does not verify against the trusted root (${withTimestamp.reason}); cosign ignores that annotation unless --use-signed-timestamps, so the log entry's time was used`);
  }
  if (!verdict.ok) return verdict;
  const claimed = digestClaim(payload);
  if (claimed !== digest) {
    return failed(verdict, 'digest-claim', `signed for another image: the payload claims ${claimed ?? 'no digest'}, not ${digest}`);
  }
  if (!a[ANNOTATION_CHAIN]) notes.push(NO_CHAIN);
  const cosignRejects = legacyIssuerMismatch(a[ANNOTATION_CERTIFICATE], verdict.issuer ?? '');
  if (cosignRejects) notes.push(cosignRejects);
  return { ...verdict, ...(notes.length ? { note: notes.join('; ') } : {}), ...(cosignRejects ? { cosignRejects } : {}) };
}

/**
 * cosign refuses a whole `.sig` with more than 1000 layers, of any media type
 * (pkg/oci/remote/signatures.go, Get: MaxLayersExceeded): then none of its
 * signatures counts, here either. Each still says how it fared otherwise.
 */
function overLayerLimit(verdicts: SignatureVerdict[], layerCount: number): SignatureVerdict[] {
  const why = `cosign rejects this .sig: it has ${layerCount} layers, more than the ${MAX_SIGNATURE_LAYERS} cosign reads, so no signature in it counts`;
  return verdicts.map((v) => {
    const { note: _note, cosignRejects: _rejects, ...rest } = v;
    return failed(rest, 'malformed', `${why} (this one ${v.ok ? 'verifies otherwise' : `also fails: ${v.reason}`})`);
  });
}

export async function verifyLegacySignatures(
  reader: SignatureReader,
  repo: RepoRef,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
  opts: LegacyCheckOptions = {},
): Promise<SignatureVerdict[]> {
  const tag = signatureTag(digest);
  const reference = `${repo.registry}/${repo.repository}:${tag}`;
  const manifest = await reader.getManifest(repo, tag);
  if (!manifest) return [];
  const all = (manifest.json as { layers?: LayerDescriptor[] }).layers ?? [];
  const layers = all
    .filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE)
    .slice(0, MAX_SIGNATURE_LAYERS)
    .filter((l) => !opts.only || opts.only(l));
  const verdicts: SignatureVerdict[] = [];
  for (const layer of layers) {
    let payload: Buffer;
    try {
      payload = await reader.getBlob(repo, layer.digest, MAX_PAYLOAD_BYTES);
    } catch (err) {
      // One unreadable layer (deleted blob, wrong digest) must not hide the others.
      verdicts.push(failed({ format: 'legacy', reference }, 'malformed', `the payload ${layer.digest} cannot be read: ${(err as Error).message}`));
      continue;
    }
    verdicts.push(verifyLegacyLayer(layer, payload, digest, trust, policy, reference, opts));
  }
  return all.length > MAX_SIGNATURE_LAYERS ? overLayerLimit(verdicts, all.length) : verdicts;
}
