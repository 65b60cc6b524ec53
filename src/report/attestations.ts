/**
 * Attestations in the log, the `attestations` output and the job summary:
 * like signatures, plus the predicate type.
 */
import * as core from '@actions/core';
import type { AttestationRecord } from '../attest/types.js';
import type { SignatureVerdict } from '../verify/check.js';
import type { AttestationCommands } from './attestation-commands.js';
import { signaturesJson } from './outputs-json.js';

export function logAttestations(records: AttestationRecord[]): void {
  for (const r of records) {
    core.startGroup(`🧾 ${r.image} (${r.format} attestation ${r.predicateType})`);
    core.info(`stored at ${r.reference}`);
    core.info(`transparency log entry ${r.rekor.logIndex}: ${r.rekor.url}`);
    core.info(`bundle: ${r.bundlePath}`);
    core.endGroup();
    for (const note of r.notes ?? []) core.warning(`${r.image} (${r.format} attestation): ${note}`);
  }
}

/** The `attestations` output: one object per attestation written. */
export function attestationsJson(records: AttestationRecord[]): unknown[] {
  return signaturesJson(records).map((o, i) => ({ ...(o as object), predicateType: records[i].predicateType }));
}

const short = (digest: string): string => `${digest.slice(0, 19)}…`;
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function commandBlock(title: string, lines: string[]): string[] {
  return lines.length ? [`<details><summary>${title}</summary>`, '', '```sh', ...lines, '```', '', '</details>', ''] : [];
}

export function attestationsMarkdown(
  records: AttestationRecord[],
  verdicts: Map<AttestationRecord, SignatureVerdict | undefined>,
  selfCheck: boolean,
  commands?: AttestationCommands,
): string[] {
  if (!records.length) return [];
  const rows = records.map((r) => {
    const v = verdicts.get(r);
    const verified = !selfCheck ? 'not checked (`verify: false`)' : v?.ok ? '✅ yes' : `❌ ${cell(v?.reason ?? 'not verified')}`;
    const image = r.platform ? `${r.image.split('@')[0]} (${r.platform})` : r.image.split('@')[0];
    return `| \`${cell(image)}\` | \`${short(r.digest)}\` | \`${cell(r.predicateType)}\` | ${r.format} | \`${cell(r.reference)}\` | [${r.rekor.logIndex}](${r.rekor.url}) | ${verified} |`;
  });
  return [
    `## Attested ${records.length} attestation${records.length === 1 ? '' : 's'}`,
    '',
    '| image | digest | predicate type | format | stored at | log entry | verified |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(commands
      ? [
          ...commandBlock('Verify the attestations: cosign 3.x', commands.cosign3),
          ...commandBlock('cosign 2.x', commands.cosign2),
          ...commandBlock('gh', commands.gh),
          ...commands.notes.map((n) => `- ${n}`),
          '',
        ]
      : []),
  ];
}
