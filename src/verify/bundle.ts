/**
 * Reads the Sigstore bundle referrers of a digest back from the registry and
 * judges each, as cosign 3 does: list referrers (the referrers API when the
 * registry has one, else the `sha256-<hex>` index of the tag schema), keep the
 * bundle artifacts, fetch the bundle layer, verify it with @sigstore/verify,
 * then check what the signed statement claims: this digest, cosign's
 * signature predicate. Bundles of other predicates (attestations) are not
 * signatures and are skipped.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import type { IdentityPolicy } from '../config-types.js';
import {
  ANNOTATION_PREDICATE_TYPE,
  BUNDLE_MEDIA_TYPE,
  INTOTO_PAYLOAD_TYPE,
  referrersTag,
  SIGN_PREDICATE_TYPE,
  statementClaims,
  type Descriptor,
} from '../formats/bundle.js';
import type { SigningCertificate } from '../identity/certificate.js';
import type { SignatureRecord } from '../sign/types.js';
import { failed, verifyBundle, type SignatureVerdict } from './check.js';
import type { RepoRef, SignatureReader } from './legacy.js';
import type { Trust } from './trust.js';

/** Bound on referrers read per digest (bounded time and memory on hostile registries). */
export const MAX_BUNDLE_REFERRERS = 1000;
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';

export interface BundleReader extends SignatureReader {
  referrers(repo: RepoRef, digest: string): Promise<{ supported: true; manifests: Descriptor[] } | { supported: false }>;
}

/** The referrers of `digest`, from the API or the fallback index, and where they were listed. */
export async function listReferrers(reader: BundleReader, repo: RepoRef, digest: string): Promise<Descriptor[]> {
  const api = await reader.referrers(repo, digest);
  if (api.supported) return api.manifests;
  const index = await reader.getManifest(repo, referrersTag(digest));
  const json = index?.json as { mediaType?: string; manifests?: unknown } | undefined;
  if (!json || (json.mediaType !== undefined && json.mediaType !== INDEX_MEDIA_TYPE) || !Array.isArray(json.manifests)) return [];
  return json.manifests as Descriptor[];
}

/** A listed descriptor that may be a cosign signature bundle (attestations excluded when they say so). */
function maybeSignatureBundle(d: Descriptor): boolean {
  if (d.artifactType !== BUNDLE_MEDIA_TYPE) return false;
  const predicate = d.annotations?.[ANNOTATION_PREDICATE_TYPE];
  return predicate === undefined || predicate === SIGN_PREDICATE_TYPE;
}

type Judged = SignatureVerdict | 'not-a-signature';

async function judgeReferrer(
  reader: BundleReader,
  repo: RepoRef,
  digest: string,
  referrer: Descriptor,
  trust: Trust,
  policy: IdentityPolicy,
): Promise<Judged> {
  const reference = `${repo.registry}/${repo.repository}@${referrer.digest}`;
  const base = { format: 'bundle' as const, reference };
  const manifest = await reader.getManifest(repo, referrer.digest);
  if (!manifest) return failed(base, 'malformed', 'the referrer is listed but its manifest is not in the repository');
  const m = manifest.json as { subject?: { digest?: string }; layers?: Descriptor[] };
  // A fallback index is writable by anyone who can push: it must not lend us another image's bundle.
  if (m.subject?.digest !== digest) {
    return failed(base, 'digest-claim', `the referrer's subject is ${m.subject?.digest ?? 'missing'}, not ${digest}`);
  }
  const layer = (m.layers ?? []).find((l) => l.mediaType === BUNDLE_MEDIA_TYPE);
  if (!layer) return failed(base, 'malformed', `the referrer has no ${BUNDLE_MEDIA_TYPE} layer`);
  let bundle: SerializedBundle;
  try {
    bundle = JSON.parse((await reader.getBlob(repo, layer.digest, MAX_BUNDLE_BYTES)).toString('utf8')) as SerializedBundle;
  } catch (err) {
    return failed(base, 'malformed', `the bundle cannot be read: ${(err as Error).message}`);
  }
  const envelope = (bundle as { dsseEnvelope?: { payload?: string; payloadType?: string } }).dsseEnvelope;
  if (!envelope?.payload) return failed(base, 'malformed', 'the bundle holds no DSSE envelope (a message signature is not an image signature)');
  const claims = statementClaims(Buffer.from(envelope.payload, 'base64'));
  if (envelope.payloadType === INTOTO_PAYLOAD_TYPE && claims && claims.predicateType !== SIGN_PREDICATE_TYPE) return 'not-a-signature';

  const verdict = verifyBundle(bundle, undefined, trust, policy, base);
  if (!verdict.ok) return verdict;
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE || !claims) {
    return failed(verdict, 'digest-claim', `the signed payload is not an in-toto statement (${envelope.payloadType ?? 'no payload type'})`);
  }
  if (!claims.subjectDigests.includes(digest.toLowerCase())) {
    return failed(verdict, 'digest-claim', `the signed statement is about ${claims.subjectDigests.join(', ') || 'no digest'}, not ${digest}`);
  }
  return verdict;
}

export async function verifyBundleSignatures(
  reader: BundleReader,
  repo: RepoRef,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
): Promise<SignatureVerdict[]> {
  const listed = (await listReferrers(reader, repo, digest)).filter(maybeSignatureBundle);
  const unique = [...new Map(listed.map((d) => [d.digest, d])).values()].slice(0, MAX_BUNDLE_REFERRERS);
  const verdicts: SignatureVerdict[] = [];
  for (const referrer of unique) {
    const judged = await judgeReferrer(reader, repo, digest, referrer, trust, policy);
    if (judged !== 'not-a-signature') verdicts.push(judged);
  }
  return verdicts;
}

/** Waits before each re-listing: registries with the referrers API may index a new referrer with a delay. */
export const LISTING_RETRY_DELAYS_MS = [500, 2000];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The self-check of one bundle record: its own referrer (the record's
 * reference names it by digest) must be listed for the digest, as verifiers
 * find it, and verify for the run's identity. Other referrers are not judged.
 */
export async function selfCheckBundle(
  reader: BundleReader,
  record: SignatureRecord,
  repo: RepoRef,
  trust: Trust,
  cert: SigningCertificate,
  retryDelaysMs: number[] = LISTING_RETRY_DELAYS_MS,
): Promise<SignatureVerdict> {
  const referrerDigest = record.reference.slice(record.reference.lastIndexOf('@') + 1);
  const base = { format: 'bundle' as const, reference: record.reference };
  let listed: Descriptor | undefined;
  for (const delay of [0, ...retryDelaysMs]) {
    if (delay) await sleep(delay);
    listed = (await listReferrers(reader, repo, record.digest)).find((d) => d.digest === referrerDigest);
    if (listed) break;
  }
  if (!listed) return failed(base, 'none-found', `the referrer ${referrerDigest} is not listed among the referrers of ${record.digest}`);
  if (!maybeSignatureBundle(listed)) return failed(base, 'malformed', 'the referrer is listed without the bundle artifactType or predicate annotation');
  const policy = { exact: cert.identity, issuer: cert.issuer };
  const judged = await judgeReferrer(reader, repo, record.digest, listed, trust, policy);
  return judged === 'not-a-signature' ? failed(base, 'malformed', 'the referrer holds a bundle of another predicate type') : judged;
}
