/**
 * The job summary: what was signed, where it is stored, the log entry, whether
 * it verified, the commands to check it yourself, and cluster policies.
 */
import * as core from '@actions/core';
import type { SignatureRecord } from '../sign/types.js';
import type { SignatureVerdict } from '../verify/check.js';
import type { VerifyCommands } from './commands.js';
import { commandsMarkdown, policiesMarkdown } from './details.js';
import type { PolicyReport } from './policy-output.js';

const short = (digest: string): string => `${digest.slice(0, 19)}…`;
const escapeCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export interface SignSummary {
  records: SignatureRecord[];
  verdicts: Map<SignatureRecord, SignatureVerdict | undefined>;
  identity: string;
  issuer: string;
  verifyCommands: VerifyCommands;
  policies: PolicyReport;
  selfCheck: boolean;
  /** One line per signature that failed (cause and fix): shown first. */
  failures?: string[];
}

export function signSummaryMarkdown(s: SignSummary): string {
  const rows = s.records.map((r) => {
    const v = s.verdicts.get(r);
    // A skipped signature was verified when found, whatever `verify` says.
    const verified = v?.ok ? '✅ yes' : !s.selfCheck ? 'not checked (`verify: false`)' : `❌ ${escapeCell(v?.reason ?? 'not verified')}`;
    const image = r.platform ? `${r.image.split('@')[0]} (${r.platform})` : r.image.split('@')[0];
    // if-signed: skip: the signature was there already; nothing was written.
    const stored = `\`${escapeCell(r.reference)}\`${r.skipped ? ' (skipped: already signed by this identity)' : ''}`;
    return `| \`${escapeCell(image)}\` | \`${short(r.digest)}\` | ${r.format} | ${stored} | [${r.rekor.logIndex}](${r.rekor.url}) | ${verified} |`;
  });
  return [
    // A failure leads: the cause first, what did get signed after it.
    ...(s.failures?.length ? failureMarkdown(`${s.failures.length} signature(s) failed`, s.failures) : []),
    `## Signed ${s.records.length} signature${s.records.length === 1 ? '' : 's'}`,
    '',
    '| image | digest | format | stored at | log entry | verified |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `**Identity:** \`${s.identity}\`  `,
    `**Issuer:** \`${s.issuer}\``,
    '',
    ...commandsMarkdown(s.verifyCommands),
    ...policiesMarkdown(s.policies),
  ].join('\n');
}

/** `## ❌ <title>` then one bullet per cause, its fix on its own line. */
export function failureMarkdown(title: string, causes: string[]): string[] {
  const bullets = causes.map((c) => {
    const [cause, fix] = c.split(/\. Fix: /);
    return `- ${cause.replace(/\n/g, '\n  ')}${fix ? `\n  **Fix:** ${fix}` : ''}`;
  });
  return [`## ❌ ${title}`, '', ...bullets, ''];
}

export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown).write();
}
