/**
 * Step outputs (contract.md, plus the added `verify-commands-cosign3`,
 * `policies-audit`, `policies-enforce` and, in verify mode, `verify-results`).
 * Only this folder and index.ts talk to @actions/core.
 */
import * as core from '@actions/core';
import type { AttestationRecord } from '../attest/types.js';
import type { SignatureRecord } from '../sign/types.js';
import { attestationsJson } from './attestations.js';
import { signaturesJson } from './outputs-json.js';
import type { SignatureVerdict } from '../verify/check.js';
import type { ImageVerdict } from '../verify/verdict.js';
import type { VerifyCommands } from './commands.js';
import { policiesYaml, type PolicyReport } from './policy-output.js';

export interface SignOutputs {
  records: SignatureRecord[];
  identity: string;
  issuer: string;
  bundleDir: string;
  verifyCommands: VerifyCommands;
  policies: PolicyReport;
  verified: boolean;
  /** Sign mode with `attest`/`predicate-type`: the `attestations` output (v1.1). */
  attestations?: AttestationRecord[];
}

export { signaturesJson };

/** The outputs both modes give: identity, issuer, commands, policies. */
function setGuidanceOutputs(identity: string, issuer: string, commands: VerifyCommands, policies: PolicyReport): void {
  core.setOutput('certificate-identity', identity);
  core.setOutput('certificate-oidc-issuer', issuer);
  core.setOutput('verify-commands', commands.cosign2.join('\n'));
  core.setOutput('verify-commands-cosign3', commands.cosign3.join('\n'));
  core.setOutput('policies-audit', policiesYaml(policies, 'audit'));
  core.setOutput('policies-enforce', policiesYaml(policies, 'enforce'));
}

export function setSignOutputs(o: SignOutputs): void {
  core.setOutput('signatures', JSON.stringify(signaturesJson(o.records)));
  if (o.attestations) core.setOutput('attestations', JSON.stringify(attestationsJson(o.attestations)));
  const first = o.records[0];
  if (first) {
    core.setOutput('transparency-log-entry', JSON.stringify(first.rekor));
    core.setOutput('rekor-log-index', String(first.rekor.logIndex));
    core.setOutput('rekor-entry-url', first.rekor.url);
  }
  setGuidanceOutputs(o.identity, o.issuer, o.verifyCommands, o.policies);
  core.setOutput('bundle-path', o.bundleDir);
  core.setOutput('verified', String(o.verified));
}

/**
 * `verify-results`: one object per image, with every signature judged (for
 * scripts that act on failures). Verifying attestations (`predicateType` set),
 * the list is `attestations`, each naming the predicateType its statement has.
 */
export function verifyResultsJson(results: ImageVerdict[], predicateType?: string): unknown[] {
  return results.map((r) => {
    const judged = r.verdicts.map((v: SignatureVerdict & { predicateType?: string }) => ({
      format: v.format,
      reference: v.reference,
      ...(predicateType !== undefined ? { predicateType: v.predicateType ?? null } : {}),
      verified: v.ok,
      ...(v.identity !== undefined ? { identity: v.identity, issuer: v.issuer } : {}),
      ...(v.logIndex !== undefined ? { logIndex: v.logIndex, integratedTime: v.integratedTime } : {}),
      ...(v.ok ? {} : { failure: v.failure, reason: v.reason }),
    }));
    return {
      image: r.image,
      digest: r.subject.digest,
      ...(predicateType !== undefined ? { predicateType } : {}),
      verified: r.ok,
      reason: r.reason,
      ...(r.cosign3 ? { cosign3: r.cosign3 } : {}),
      ...(predicateType !== undefined ? { attestations: judged } : { signatures: judged }),
    };
  });
}

export interface VerifyOutputs {
  results: ImageVerdict[];
  /** The exact identity required, or the one a regexp matched ('' when none or several). */
  identity: string;
  issuer: string;
  verifyCommands: VerifyCommands;
  policies: PolicyReport;
  /** Verify mode with `predicate-type`: the full URI the attestations were checked for. */
  predicateType?: string;
}

export function setVerifyOutputs(o: VerifyOutputs): void {
  setGuidanceOutputs(o.identity, o.issuer, o.verifyCommands, o.policies);
  core.setOutput('verify-results', JSON.stringify(verifyResultsJson(o.results, o.predicateType)));
  core.setOutput('verified', String(o.results.length > 0 && o.results.every((r) => r.ok)));
}
