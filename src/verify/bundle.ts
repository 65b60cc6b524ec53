/**
 * Reads the Sigstore bundle referrers of a digest back from the registry and
 * judges each twice. As cosign 3 does: list referrers (the referrers API when
 * the registry has one, else the `sha256-<hex>` index of the tag schema), keep
 * those it counts as bundles (./discovery.ts), verify each with
 * @sigstore/verify, then check the signed statement names this digest. And by
 * this action's stricter rule, which counts only cosign signature bundles
 * (predicate https://sigstore.dev/cosign/sign/v1) as signatures: attestations
 * by the right identity pass cosign 3 but are not signatures here.
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
import { statementVerdict } from './attestation-check.js';
import { discoverBundle, type Discovery, type ReferrerManifest } from './discovery.js';
import type { RepoRef, SignatureReader } from './legacy.js';
import type { Trust } from './trust.js';

/** Bound on referrers read per digest (bounded time and memory on hostile registries). */
export const MAX_BUNDLE_REFERRERS = 1000;
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

/**
 * This action's own, stricter rule for what is a signature: a referrer listed
 * as a cosign signature bundle (the bundle artifactType, and no predicate
 * annotation or cosign's signature predicate), whose statement has that
 * predicate. cosign 3 accepts any verified DSSE bundle (see Cosign3Verdict).
 */
function listedAsSignature(d: Descriptor): boolean {
  if (d.artifactType !== BUNDLE_MEDIA_TYPE) return false;
  const predicate = d.annotations?.[ANNOTATION_PREDICATE_TYPE];
  return predicate === undefined || predicate === SIGN_PREDICATE_TYPE;
}

/**
 * cosign 3's verdict on one bundle it finds. It checks identity and digest
 * only, not the predicate type (pkg/cosign/verify.go,
 * verifyImageAttestationsSigstoreBundle with IntotoSubjectClaimVerifier), so
 * an attestation bundle by the right identity passes it (Kyverno's
 * ImageValidatingPolicy runs the same code).
 */
export interface Cosign3Verdict extends SignatureVerdict {
  predicateType?: string;
}

export interface BundleFindings {
  /** Ours: one per referrer listed as a cosign signature (attestations are not signatures). */
  verdicts: SignatureVerdict[];
  /** cosign 3's: one per referrer it counts as a bundle (./discovery.ts), whatever its predicate. */
  cosign3: Cosign3Verdict[];
}

type Base = Omit<SignatureVerdict, 'ok'>;

/** A fallback index is writable by anyone who can push: it must not lend us another image's bundle. */
function subjectFailure(manifest: ReferrerManifest | undefined, digest: string, base: Base): SignatureVerdict | undefined {
  if (!manifest || manifest.subject?.digest === digest) return undefined;
  return failed(base, 'digest-claim', `the referrer's subject is ${manifest.subject?.digest ?? 'missing'}, not ${digest}`);
}

/** Both verdicts on one referrer, and the bundle it holds when it holds one (`if-signed: skip` reports it). */
export async function judgeReferrer(
  reader: BundleReader,
  repo: RepoRef,
  digest: string,
  referrer: Descriptor,
  trust: Trust,
  policy: IdentityPolicy,
): Promise<{ ours?: SignatureVerdict; cosign3?: Cosign3Verdict; bundle?: SerializedBundle }> {
  const base: Base = { format: 'bundle', reference: `${repo.registry}/${repo.repository}@${referrer.digest}` };
  const isSignature = listedAsSignature(referrer);
  let found: Discovery;
  try {
    found = await discoverBundle(reader, repo, referrer.digest);
  } catch (err) {
    if (isSignature) throw err;
    return {}; // cosign skips a referrer it cannot read; so does its view here
  }
  if (!found.found) return isSignature ? { ours: subjectFailure(found.manifest, digest, base) ?? failed(base, 'malformed', found.why) } : {};

  const envelope = (found.bundle as { dsseEnvelope?: { payload?: string; payloadType?: string } }).dsseEnvelope;
  if (!envelope?.payload) {
    // cosign 3 counts it as a bundle, then fails it: "bundle does not contain a DSSE envelope".
    const noEnvelope = failed(base, 'malformed', 'the bundle holds no DSSE envelope (a message signature is not an image signature)');
    return { ours: isSignature ? (subjectFailure(found.manifest, digest, base) ?? noEnvelope) : undefined, cosign3: noEnvelope };
  }
  const claims = statementClaims(Buffer.from(envelope.payload, 'base64'));
  const verified = verifyBundle(found.bundle, undefined, trust, policy, base);
  // What cosign 3 checks after the signature: an in-toto statement naming this digest, any predicate type.
  const judged = verified.ok ? statementVerdict(verified, envelope, digest, undefined) : verified;
  const cosign3: Cosign3Verdict = { ...judged, ...(claims?.predicateType ? { predicateType: claims.predicateType } : {}) };
  const attestation = envelope.payloadType === INTOTO_PAYLOAD_TYPE && claims !== undefined && claims.predicateType !== SIGN_PREDICATE_TYPE;
  if (!isSignature || attestation) return { cosign3 };
  return { ours: subjectFailure(found.manifest, digest, base) ?? judged, cosign3, bundle: found.bundle };
}

/** Judges every referrer of `digest` (at most MAX_BUNDLE_REFERRERS), for us and for cosign 3. */
export async function readBundleReferrers(
  reader: BundleReader,
  repo: RepoRef,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
): Promise<BundleFindings> {
  const listed = await listReferrers(reader, repo, digest);
  const unique = [...new Map(listed.map((d) => [d.digest, d])).values()].slice(0, MAX_BUNDLE_REFERRERS);
  const findings: BundleFindings = { verdicts: [], cosign3: [] };
  for (const referrer of unique) {
    const { ours, cosign3 } = await judgeReferrer(reader, repo, digest, referrer, trust, policy);
    if (ours) findings.verdicts.push(ours);
    if (cosign3) findings.cosign3.push(cosign3);
  }
  return findings;
}

/** Our verdicts on the bundle signatures of `digest`. */
export async function verifyBundleSignatures(
  reader: BundleReader,
  repo: RepoRef,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
): Promise<SignatureVerdict[]> {
  return (await readBundleReferrers(reader, repo, digest, trust, policy)).verdicts;
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
  if (!listedAsSignature(listed)) return failed(base, 'malformed', 'the referrer is listed without the bundle artifactType or predicate annotation');
  const policy = { exact: cert.identity, issuer: cert.issuer };
  const { ours } = await judgeReferrer(reader, repo, record.digest, listed, trust, policy);
  return ours ?? failed(base, 'malformed', 'the referrer holds a bundle of another predicate type');
}
