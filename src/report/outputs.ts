/**
 * Step outputs (contract.md). Only this folder and index.ts talk to @actions/core.
 */
import * as core from '@actions/core';
import type { SignatureRecord } from '../sign/types.js';

export interface SignOutputs {
  records: SignatureRecord[];
  identity: string;
  issuer: string;
  bundleDir: string;
  verifyCommands: string[];
  verified: boolean;
}

export function signaturesJson(records: SignatureRecord[]): unknown[] {
  return records.map((r) => ({
    image: r.image,
    digest: r.digest,
    format: r.format,
    reference: r.reference,
    rekor: { logIndex: r.rekor.logIndex, logId: r.rekor.logId, integratedTime: r.rekor.integratedTime, uuid: r.rekor.uuid, url: r.rekor.url },
    bundlePath: r.bundlePath,
    ...(r.platform ? { platform: r.platform } : {}),
  }));
}

export function setSignOutputs(o: SignOutputs): void {
  core.setOutput('signatures', JSON.stringify(signaturesJson(o.records)));
  const first = o.records[0];
  if (first) {
    core.setOutput('transparency-log-entry', JSON.stringify(first.rekor));
    core.setOutput('rekor-log-index', String(first.rekor.logIndex));
    core.setOutput('rekor-entry-url', first.rekor.url);
  }
  core.setOutput('certificate-identity', o.identity);
  core.setOutput('certificate-oidc-issuer', o.issuer);
  core.setOutput('bundle-path', o.bundleDir);
  core.setOutput('verify-commands', o.verifyCommands.join('\n'));
  core.setOutput('verified', String(o.verified));
}
