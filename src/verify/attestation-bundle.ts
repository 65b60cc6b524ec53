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
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import type { IdentityPolicy } from '../config-types.js';
import { SIGN_PREDICATE_TYPE, type Descriptor } from '../formats/bundle.js';
import { declaredPredicateType, statementVerdict, type AttestationVerdict, type Envelope } from './attestation-check.js';
import { MAX_ATTESTATION_BYTES } from './attestation-legacy.js';
import { listReferrers, MAX_BUNDLE_REFERRERS, type BundleReader } from './bundle.js';
import { failed, verifyBundle } from './check.js';
import { bundleVersion, discoverBundle, type Discovery, type ReferrerManifest } from './discovery.js';
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
    if (!listedAsBundle) return { counted: false };
    // gh reads bundles cosign 3 does not (v0.1, v0.2: older actions/attest): judged as gh judges them, flagged for cosign.
    const older = await olderBundle(reader, repo, found.manifest);
    if (!older) return { counted: false, verdict: failed(base, 'malformed', found.why) };
    const judged = await judgeBundle(older, found.manifest ?? {}, base, digest, trust, policy, predicateType);
    return { counted: false, verdict: judged.ok ? { ...judged, cosignRejects: found.why, note: `${found.why}; gh attestation verify reads it` } : judged };
  }
  const envelope = (found.bundle as { dsseEnvelope?: Envelope }).dsseEnvelope;
  // A cosign signature is no attestation, unless that is the type asked for.
  if (!envelope || (declaredPredicateType(envelope) === SIGN_PREDICATE_TYPE && predicateType !== SIGN_PREDICATE_TYPE)) return { counted: true };
  return { counted: true, verdict: await judgeBundle(found.bundle, found.manifest, base, digest, trust, policy, predicateType) };
}

/** A DSSE bundle found for `digest`: the referrer's subject, the signature, then the statement. */
async function judgeBundle(
  bundle: SerializedBundle,
  manifest: ReferrerManifest,
  base: { format: 'bundle'; reference: string },
  digest: string,
  trust: Trust,
  policy: IdentityPolicy,
  predicateType: string | undefined,
): Promise<AttestationVerdict> {
  const envelope = (bundle as { dsseEnvelope?: Envelope }).dsseEnvelope;
  const declared = declaredPredicateType(envelope);
  const typed = { ...base, ...(declared !== undefined ? { predicateType: declared } : {}) };
  if (!envelope) return failed(typed, 'malformed', 'the bundle holds no DSSE envelope (a message signature, not an attestation)');
  if (manifest.subject?.digest !== digest) {
    // A fallback index is writable by anyone who can push: it must not lend us another image's attestation.
    return failed(typed, 'digest-claim', `the referrer's subject is ${manifest.subject?.digest ?? 'missing'}, not ${digest}`);
  }
  const verified = verifyBundle(bundle, undefined, trust, policy, typed);
  return verified.ok ? statementVerdict(verified, envelope, digest, predicateType) : verified;
}

/**
 * What gh reads where cosign 3 reads nothing: the first layer of a referrer,
 * if it holds a v0.1 or v0.2 bundle (cli/cli artifact/oci/client.go reads
 * `layers[0]` of every referrer with a bundle artifactType, any version).
 */
async function olderBundle(reader: BundleReader, repo: RepoRef, manifest: ReferrerManifest | undefined): Promise<SerializedBundle | undefined> {
  const layer = manifest?.layers?.[0];
  if (!layer?.mediaType?.startsWith(BUNDLE_ARTIFACT_PREFIX)) return undefined;
  try {
    const json = JSON.parse((await reader.getBlob(repo, layer.digest, MAX_ATTESTATION_BYTES)).toString('utf8')) as SerializedBundle;
    if (!/^0\.[12]$/.test(bundleVersion(json?.mediaType) ?? '')) return undefined;
    bundleFromJSON(json);
    return json;
  } catch {
    return undefined;
  }
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
