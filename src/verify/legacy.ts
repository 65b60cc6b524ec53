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
import type { Trust } from './trust.js';

/** cosign reads at most this many signature layers; so do we (bounded memory). */
export const MAX_SIGNATURE_LAYERS = 1000;

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

/** Checks the payload claims the digest we asked about (cosign checks the same). */
export function digestClaim(payload: Buffer): string | undefined {
  try {
    const p = JSON.parse(payload.toString('utf8')) as { critical?: { image?: { 'docker-manifest-digest'?: string }; type?: string } };
    return p.critical?.type === 'cosign container image signature' ? p.critical.image?.['docker-manifest-digest'] : undefined;
  } catch {
    return undefined;
  }
}

export function verifyLegacyLayer(
  layer: LayerDescriptor,
  payload: Buffer,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
  reference: string,
): SignatureVerdict {
  const base = { format: 'legacy' as const, reference };
  const a = layer.annotations ?? {};
  if (!a[ANNOTATION_SIGNATURE] || !a[ANNOTATION_CERTIFICATE]) {
    return failed(base, 'malformed', `layer ${layer.digest} has no signature or certificate annotation (a key-based signature?)`);
  }
  if (!a[ANNOTATION_BUNDLE]) return failed(base, 'log-proof', 'no transparency-log proof (dev.sigstore.cosign/bundle is missing)');
  if (!a[ANNOTATION_CHAIN]) return failed(base, 'chain', 'no certificate chain annotation (Kyverno type: Cosign needs it)');
  let rekor: RekorEntry;
  try {
    rekor = entryFromAnnotation(a[ANNOTATION_BUNDLE]);
  } catch {
    return failed(base, 'log-proof', 'the dev.sigstore.cosign/bundle annotation is not readable');
  }
  const bundle = messageSignatureBundle({
    payloadSha256Hex: sha256Hex(payload),
    signatureB64: a[ANNOTATION_SIGNATURE],
    certificatePem: a[ANNOTATION_CERTIFICATE],
    rekor: { ...rekor, inclusionProof: undefined },
    rfc3161TimestampB64: rfc3161FromAnnotation(a[ANNOTATION_RFC3161]),
  });
  const verdict = verifyBundle(bundle, payload, trust, policy, {
    ...base,
    logIndex: rekor.logIndex,
    integratedTime: rekor.integratedTime,
  });
  if (!verdict.ok) return verdict;
  const claimed = digestClaim(payload);
  if (claimed !== digest) {
    return failed(verdict, 'digest-claim', `the signed payload claims ${claimed ?? 'no digest'}, not ${digest}`);
  }
  return verdict;
}

export async function verifyLegacySignatures(
  reader: SignatureReader,
  repo: RepoRef,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
): Promise<SignatureVerdict[]> {
  const tag = signatureTag(digest);
  const reference = `${repo.registry}/${repo.repository}:${tag}`;
  const manifest = await reader.getManifest(repo, tag);
  if (!manifest) return [];
  const layers = ((manifest.json as { layers?: LayerDescriptor[] }).layers ?? [])
    .filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE)
    .slice(0, MAX_SIGNATURE_LAYERS);
  const verdicts: SignatureVerdict[] = [];
  for (const layer of layers) {
    const payload = await reader.getBlob(repo, layer.digest, 64 * 1024);
    verdicts.push(verifyLegacyLayer(layer, payload, digest, trust, policy, reference));
  }
  return verdicts;
}
