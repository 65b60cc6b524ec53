/**
 * What verify mode reports: the outputs, and a job summary with one row per
 * image (its digest, the verdict, the one-line reason), every signature
 * judged, the commands to check it with cosign, and policies for the identity.
 */
import type { Config, IdentityPolicy } from '../config-types.js';
import type { PredicateTypeChoice } from '../verify/attestation-types.js';
import type { SignatureVerdict } from '../verify/check.js';
import { describePolicy } from '../verify/policy.js';
import { formatFound, verifiedIdentity, type ImageVerdict } from '../verify/verdict.js';
import type { VerifyCommands } from './commands.js';
import { commandsMarkdown, htmlText, policiesMarkdown } from './details.js';
import { setVerifyOutputs } from './outputs.js';
import { policiesFor, type PolicyReport } from './policy-output.js';
import { withLogOfSignatures } from './signing-log.js';
import { writeSummary } from './summary.js';
import { verifyModeCommands } from './verify-commands.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const short = (digest: string): string => `${digest.slice(0, 19)}…`;

export interface VerifyReport {
  results: ImageVerdict[];
  policy: IdentityPolicy;
  audit: boolean;
  commands: VerifyCommands;
  policies: PolicyReport;
  /** Verify mode with `predicate-type`: the type asked for (the summary then speaks of attestations). */
  predicateType?: PredicateTypeChoice;
}

/** `cosign3` is set only where cosign 3 concludes otherwise: it rejects what passed, or accepts what failed. */
function resultCell(r: ImageVerdict, audit: boolean): string {
  if (r.ok) return r.cosign3 ? '✅ verified (⚠️ not by cosign 3)' : '✅ verified';
  const failedCell = audit ? '⚠️ would fail' : '❌ failed';
  return r.cosign3 ? `${failedCell} (⚠️ cosign 3 would accept it)` : failedCell;
}

function signaturesTable(results: ImageVerdict[], attestations: boolean): string[] {
  const typeCell = (v: SignatureVerdict & { predicateType?: string }): string => (attestations ? ` ${cell(v.predicateType ? `\`${v.predicateType}\`` : '')} |` : '');
  const rows = results.flatMap((r) =>
    r.verdicts.map(
      (v) =>
        `| \`${cell(r.image.split('@')[0])}\` | ${v.format} |${typeCell(v)} \`${cell(v.reference)}\` | ${cell(v.identity ? `\`${v.identity}\`` : '')} | ${v.logIndex ?? ''} | ${v.ok ? '✅' : `❌ ${cell(v.reason ?? '')}`} |`,
    ),
  );
  if (!rows.length) return [];
  return [
    `<details><summary>${htmlText(`Every ${attestations ? 'attestation' : 'signature'} checked (${rows.length})`)}</summary>`,
    '',
    `| image | format |${attestations ? ' predicate type |' : ''} stored at | signed by | log entry | result |`,
    `|---|---|${attestations ? '---|' : ''}---|---|---|---|`,
    ...rows,
    '',
    '</details>',
    '',
  ];
}

export function verifyModeMarkdown(report: VerifyReport): string {
  const { results, policy, audit } = report;
  const passed = results.filter((r) => r.ok).length;
  const rows = results.map((r) => {
    const extra = [r.cosign3, ...r.notes].filter(Boolean).map((n) => `<br>⚠️ ${cell(n!)}`).join('');
    return `| \`${cell(r.image.split('@')[0])}\` | \`${short(r.subject.digest)}\` | ${resultCell(r, audit)} | ${cell(r.reason)}${extra} |`;
  });
  const type = report.predicateType;
  return [
    `## ${type ? 'Attestation' : 'Signature'} verification${audit ? ' (audit: nothing fails)' : ''}: ${passed} of ${results.length} image${results.length === 1 ? '' : 's'} verified`,
    '',
    ...(type ? [`**Predicate type:** \`${type.uri}\`${type.shortName ? ` (from the short name \`${type.shortName}\`)` : ''}  `] : []),
    `**Identity:** \`${describePolicy(policy)}\`  `,
    `**Issuer:** \`${policy.issuer}\``,
    '',
    '| image | digest | result | reason |',
    '|---|---|---|---|',
    ...rows,
    '',
    ...signaturesTable(results, Boolean(type)),
    ...commandsMarkdown(report.commands),
    ...policiesMarkdown(report.policies),
  ].join('\n');
}

/** Commands that cannot be written (an identity no shell line can hold) become a note, never a failure. */
function commandsOrNote(make: () => VerifyCommands): VerifyCommands {
  try {
    return make();
  } catch (err) {
    return { cosign2: [], cosign3: [], notes: [`No cosign commands: ${err instanceof Error ? err.message : String(err)}`] };
  }
}

export async function reportVerifyMode(results: ImageVerdict[], given: Config): Promise<void> {
  // The commands and policies name the log that recorded the signatures found.
  const config = withLogOfSignatures(given, results);
  const policy = config.identity!;
  const images = results.map((r) => r.image);
  const format = formatFound(results);
  const identity = policy.exact ?? verifiedIdentity(results);
  const commands = commandsOrNote(() => verifyModeCommands(config, images, policy, format));
  // Attestations verified here: the policies require them (and the signature beside them, as the action writes both).
  const policies = policiesFor(config, images, identity, policy.issuer, format, config.verifyAttestation ? [config.verifyAttestation.uri] : []);
  const predicateType = config.verifyAttestation;
  setVerifyOutputs({ results, identity: identity ?? '', issuer: policy.issuer, verifyCommands: commands, policies, predicateType: predicateType?.uri });
  if (config.summary) await writeSummary(verifyModeMarkdown({ results, policy, audit: config.audit, commands, policies, predicateType }));
}
