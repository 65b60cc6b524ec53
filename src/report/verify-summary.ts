/** The job summary of verify mode: one row per image with its verdict. */
import * as core from '@actions/core';
import type { Config } from '../config-types.js';
import type { ImageVerdict } from '../verify/mode.js';
import { describePolicy } from '../verify/policy.js';

export function verifyModeMarkdown(results: ImageVerdict[], config: Config): string {
  const policy = config.identity!;
  const rows = results.map(
    (r) => `| \`${r.image}\` | ${r.ok ? '✅ verified' : config.audit ? '⚠️ would fail' : '❌ failed'} | ${r.reason.replace(/\|/g, '\\|')} |`,
  );
  return [
    `## Signature verification${config.audit ? ' (audit)' : ''}`,
    '',
    `**Identity:** \`${describePolicy(policy)}\`  `,
    `**Issuer:** \`${policy.issuer}\``,
    '',
    '| image | result | reason |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export async function verifyModeSummary(results: ImageVerdict[], config: Config): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(verifyModeMarkdown(results, config)).write();
}
