/**
 * `mode: verify`: check the existing signatures of each image, legacy `.sig`
 * and bundle referrers alike, against the required identity and issuer. An
 * image passes when one signature verifies. With `predicate-type`, the same
 * for attestations of that type (./attestation-verdict.ts). With `audit: true`
 * every failure is a warning and the step succeeds (with `verified: false`).
 */
import * as core from '@actions/core';
import type { Config, IdentityPolicy } from '../config-types.js';
import { ActionError, SummarizedError } from '../errors.js';
import { reportVerifyMode } from '../report/verify-summary.js';
import type { Subject } from '../subjects/resolve.js';
import { settleLimited } from '../util/pool.js';
import { readBundleReferrers, type BundleReader } from './bundle.js';
import { failed, type SignatureVerdict } from './check.js';
import { verifyLegacySignatures } from './legacy.js';
import { verifyImageAttestations } from './attestation-verdict.js';
import { describePredicateType } from './attestation-types.js';
import { describePolicy, looseRegexpWarning } from './policy.js';
import { loadTrust, type Trust } from './trust.js';
import { judgeImage, type ImageVerdict } from './verdict.js';

export type { ImageVerdict } from './verdict.js';

/** Images checked at once: each is a handful of small registry reads. */
const CONCURRENCY = 8;

export async function verifyImage(reader: BundleReader, subject: Subject, trust: Trust, policy: IdentityPolicy): Promise<ImageVerdict> {
  const [legacy, bundles] = await Promise.all([
    // cosign needs neither the chain annotation nor a verifiable RFC 3161 annotation: judge as it does, and note it.
    verifyLegacySignatures(reader, subject.repo, subject.digest, trust, policy, { requireChain: false, tolerateTimestamp: true }),
    readBundleReferrers(reader, subject.repo, subject.digest, trust, policy),
  ]);
  return judgeImage(subject, [...legacy, ...bundles.verdicts], bundles.cosign3);
}

/** An image whose signatures could not be read: one verdict saying why, so audit mode can report it. */
function unreadable(subject: Subject, err: unknown, what = 'signatures'): ImageVerdict {
  const message = err instanceof Error ? err.message : String(err);
  const verdict: SignatureVerdict = failed(
    { format: 'legacy', reference: `${subject.dockerReference}@${subject.digest}` },
    'unreadable',
    `could not read its ${what}: ${message}`,
  );
  return judgeImage(subject, [verdict]);
}

async function verifyAll(config: Config, reader: BundleReader, subjects: Subject[], trust: Trust, policy: IdentityPolicy): Promise<ImageVerdict[]> {
  const predicateType = config.verifyAttestation?.uri;
  const check = (s: Subject): Promise<ImageVerdict> =>
    predicateType === undefined ? verifyImage(reader, s, trust, policy) : verifyImageAttestations(reader, s, trust, policy, predicateType);
  const settled = await settleLimited(subjects, CONCURRENCY, check);
  return settled.map((r, i) => (r.status === 'fulfilled' ? r.value : unreadable(subjects[i], r.reason, predicateType === undefined ? 'signatures' : 'attestations')));
}

/** Loads the trust root; in audit mode a failure becomes every image's reason instead of failing the step. */
async function trustOrReason(config: Config): Promise<Trust | string> {
  try {
    return await loadTrust(config.sigstore);
  } catch (err) {
    if (!config.audit) throw err;
    return `not checked: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function annotate(results: ImageVerdict[], audit: boolean, attestations: boolean): void {
  for (const r of results) {
    if (r.ok) core.notice(`${r.image}: ${r.reason}`, { title: attestations ? 'Attestation verified' : 'Signature verified' });
    else if (audit) core.warning(`${r.image}: ${r.reason}`, { title: 'Would fail verification (audit)' });
    if (r.cosign3) core.warning(`${r.image}: ${r.cosign3}`, { title: 'cosign 3 would conclude otherwise' });
  }
}

export async function runVerifyMode(config: Config, reader: BundleReader, subjects: Subject[]): Promise<ImageVerdict[]> {
  const policy = config.identity;
  if (!policy) throw new ActionError('verify mode needs an identity', { input: 'certificate-identity', fix: 'set `certificate-identity`' });
  if (policy.regexp) {
    const warning = looseRegexpWarning(policy.regexp);
    if (warning) core.warning(warning);
  }
  const wanted = config.verifyAttestation;
  if (wanted) core.info(`Verifying attestations of type ${describePredicateType(wanted)}`);
  const trust = await trustOrReason(config);
  const results =
    typeof trust === 'string'
      ? subjects.map((s) => judgeImage(s, [failed({ format: 'legacy', reference: `${s.dockerReference}@${s.digest}` }, 'unreadable', trust)]))
      : await verifyAll(config, reader, subjects, trust, policy);
  if (typeof trust !== 'string') core.info(`Trusted root: ${trust.source}`);
  annotate(results, config.audit, Boolean(wanted));
  await reportVerifyMode(results, config);

  const failures = results.filter((r) => !r.ok);
  if (failures.length && !config.audit) {
    // The summary (when written) already leads with each image's reason.
    const Failure = config.summary ? SummarizedError : ActionError;
    const what = wanted ? ` of ${wanted.uri} attestations` : '';
    throw new Failure(
      `${failures.length} of ${results.length} image(s) failed verification${what} for ${describePolicy(policy)} (issuer ${policy.issuer}):\n${failures.map((r) => `${r.image}: ${r.reason}`).join('\n')}`,
      {
        fix: wanted
          ? 'attest the images with this identity (sign mode `attest: provenance`, or `predicate-type` with `predicate`/`predicate-path`), or set `audit: true` to report without failing while you roll out'
          : 'sign the images with this identity, or set `audit: true` to report without failing while you roll out',
      },
    );
  }
  return results;
}
