/**
 * Attestations stored as Sigstore bundle referrers (attestations.md §2):
 * cosign 3 `attest`, actions/attest `push-to-registry`. Found as cosign 3
 * finds them (./bundle.ts listReferrers: the referrers API, else the
 * `sha256-<hex>` index; ./discovery.ts: one bundle layer, v0.3), verified with
 * @sigstore/verify (chain, SCT, log proof, that the log entry names the
 * certificate), then the statement (./attestation-check.ts). cosign 3 and
 * Kyverno ignore the `dev.sigstore.bundle.predicateType` annotation (cosign
 * 3.0.x even writes the wrong one), and so do we: the signed statement decides.
 */
import type { IdentityPolicy } from '../config-types.js';
import { SIGN_PREDICATE_TYPE, type Descriptor } from '../formats/bundle.js';
import { declaredPredicateType, statementVerdict, type AttestationVerdict, type Envelope } from './attestation-check.js';
import { MAX_ATTESTATION_BYTES } from './attestation-legacy.js';
import { listReferrers, MAX_BUNDLE_REFERRERS, type BundleReader } from './bundle.js';
import { failed, verifyBundle } from './check.js';
import { discoverBundle, type Discovery } from './discovery.js';
import type { RepoRef } from './legacy.js';
import type { Trust } from './trust.js';

const BUNDLE_ARTIFACT_PREFIX = 'application/vnd.dev.sigstore.bundle';

export interface BundleAttestations {
  /** One per referrer judged as an attestation (cosign signature bundles are left out unless asked for). */
  verdicts: AttestationVerdict[];
  /**
   * How many referrers cosign 3 counts as bundles, signatures included. With
   * one or more, `cosign verify-attestation` (3.x, and 2.6 which detects them)
   * reads only bundles and never the `.att` tag.
   */
  cosign3Bundles: number;
}

type Judged = { verdict?: AttestationVerdict; counted: boolean };

async function judgeReferrer(
  reader: BundleReader,
  repo: RepoRef,
  digest: string,
  referrer: Descriptor,
  trust: Trust,
  policy: IdentityPolicy,
  predicateType: string | undefined,
): Promise<Judged> {
  const base = { format: 'bundle' as const, reference: `${repo.registry}/${repo.repository}@${referrer.digest}` };
  const listedAsBundle = referrer.artifactType?.startsWith(BUNDLE_ARTIFACT_PREFIX) ?? false;
  let found: Discovery;
  try {
    found = await discoverBundle(reader, repo, referrer.digest, MAX_ATTESTATION_BYTES);
  } catch (err) {
    // cosign skips a referrer it cannot read; one listed as a bundle is worth naming.
    return { counted: false, verdict: listedAsBundle ? failed(base, 'unreadable', `the referrer cannot be read: ${(err as Error).message}`) : undefined };
  }
  if (!found.found) {
    // gh reads bundles cosign 3 does not (older versions): name why it does not count, when it claims to be one.
    return { counted: false, verdict: listedAsBundle ? failed(base, 'malformed', found.why) : undefined };
  }
  const envelope = (found.bundle as { dsseEnvelope?: Envelope }).dsseEnvelope;
  const declared = declaredPredicateType(envelope);
  // A cosign signature is no attestation, unless that is the type asked for.
  if (!envelope || (declared === SIGN_PREDICATE_TYPE && predicateType !== SIGN_PREDICATE_TYPE)) return { counted: true };
  const typed = { ...base, ...(declared !== undefined ? { predicateType: declared } : {}) };
  if (found.manifest.subject?.digest !== digest) {
    // A fallback index is writable by anyone who can push: it must not lend us another image's attestation.
    return { counted: true, verdict: failed(typed, 'digest-claim', `the referrer's subject is ${found.manifest.subject?.digest ?? 'missing'}, not ${digest}`) };
  }
  const verified = verifyBundle(found.bundle, undefined, trust, policy, typed);
  return { counted: true, verdict: verified.ok ? statementVerdict(verified, envelope, digest, predicateType) : verified };
}

/** Judges every referrer of `digest` (at most MAX_BUNDLE_REFERRERS) as an attestation bundle. */
export async function verifyBundleAttestations(
  reader: BundleReader,
  repo: RepoRef,
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
  predicateType: string | undefined,
): Promise<BundleAttestations> {
  const listed = await listReferrers(reader, repo, digest);
  const unique = [...new Map(listed.map((d) => [d.digest, d])).values()].slice(0, MAX_BUNDLE_REFERRERS);
  const out: BundleAttestations = { verdicts: [], cosign3Bundles: 0 };
  for (const referrer of unique) {
    const { verdict, counted } = await judgeReferrer(reader, repo, digest, referrer, trust, policy, predicateType);
    if (verdict) out.verdicts.push(verdict);
    if (counted) out.cosign3Bundles += 1;
  }
  return out;
}
