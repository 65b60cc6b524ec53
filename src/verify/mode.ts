/**
 * `mode: verify`: check the existing signatures of each image against the
 * required identity and issuer. An image passes when one signature verifies.
 * With `audit: true` every failure is a warning and the step succeeds.
 */
import * as core from '@actions/core';
import type { Config } from '../config-types.js';
import { ActionError } from '../errors.js';
import type { Subject } from '../subjects/resolve.js';
import type { SignatureVerdict } from './check.js';
import { verifyBundleSignatures, type BundleReader } from './bundle.js';
import { verifyLegacySignatures } from './legacy.js';
import { describePolicy, looseRegexpWarning } from './policy.js';
import { loadTrust } from './trust.js';
import { verifyModeSummary } from '../report/verify-summary.js';

export interface ImageVerdict {
  subject: Subject;
  image: string;
  ok: boolean;
  verdicts: SignatureVerdict[];
  /** One line: why it failed (or which signature passed). */
  reason: string;
}

/** The most telling reason among failed signatures, or "none found". */
export function imageReason(verdicts: SignatureVerdict[]): string {
  if (!verdicts.length) return 'no signatures found (neither a .sig tag nor a bundle referrer)';
  const passed = verdicts.find((v) => v.ok);
  if (passed) return `verified (${passed.format}, log entry ${passed.logIndex})`;
  const distinct = [...new Set(verdicts.map((v) => v.reason))];
  return distinct.length === 1 ? distinct[0]! : `${distinct[0]} (and ${distinct.length - 1} other reason(s) on other signatures)`;
}

export async function runVerifyMode(config: Config, reader: BundleReader, subjects: Subject[]): Promise<void> {
  const policy = config.identity;
  if (!policy) throw new ActionError('verify mode needs an identity', { input: 'certificate-identity', fix: 'set `certificate-identity`' });
  if (policy.regexp) {
    const warning = looseRegexpWarning(policy.regexp);
    if (warning) core.warning(warning);
  }
  const trust = await loadTrust(config.sigstore);
  const results: ImageVerdict[] = [];
  for (const subject of subjects) {
    const image = `${subject.dockerReference}@${subject.digest}`;
    // Both formats: cosign 2 reads only `.sig`, cosign 3 prefers bundle referrers.
    const verdicts = [
      ...(await verifyLegacySignatures(reader, subject.repo, subject.digest, trust, policy)),
      ...(await verifyBundleSignatures(reader, subject.repo, subject.digest, trust, policy)),
    ];
    results.push({ subject, image, ok: verdicts.some((v) => v.ok), verdicts, reason: imageReason(verdicts) });
  }
  const failed = results.filter((r) => !r.ok);
  for (const r of results) {
    if (r.ok) core.notice(`${r.image}: ${r.reason}`, { title: 'Signature verified' });
    else if (config.audit) core.warning(`${r.image}: ${r.reason}`, { title: 'Would fail verification (audit)' });
  }
  core.setOutput('verified', String(failed.length === 0));
  core.setOutput('certificate-identity', describePolicy(policy));
  core.setOutput('certificate-oidc-issuer', policy.issuer);
  if (config.summary) await verifyModeSummary(results, config);
  if (failed.length && !config.audit) {
    throw new ActionError(
      `${failed.length} of ${results.length} image(s) failed verification for ${describePolicy(policy)}:\n${failed.map((r) => `${r.image}: ${r.reason}`).join('\n')}`,
      { fix: 'sign the images with this identity, or set `audit: true` to report without failing while you roll out' },
    );
  }
}
