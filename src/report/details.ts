/**
 * Markdown shared by both job summaries: the `cosign verify` commands and the
 * cluster policy snippets, each in a collapsible `<details>` block so the
 * summary stays short. A blank line after `<summary>` lets GitHub render the
 * fenced blocks inside.
 */
import type { VerifyCommands } from './commands.js';
import { snippetsOf, type PolicyReport } from './policy-output.js';
import type { PolicySnippet } from './policies.js';

/** Fences longer than any backtick run inside, so no content can close the block early. */
function fenced(lang: string, text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text.replace(/\n+$/, '')}\n${fence}`;
}

/** Text for inside `<summary>` / HTML: nothing in it can open a tag. */
export function htmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function details(summary: string, body: string[], open = false): string[] {
  return [`<details${open ? ' open' : ''}><summary>${htmlText(summary)}</summary>`, '', ...body, '', '</details>', ''];
}

export function commandsMarkdown(commands: VerifyCommands): string[] {
  if (!commands.cosign3.length) return commands.notes.map((n) => `> ${n}`);
  return [
    '### Verify it yourself',
    '',
    ...details('cosign 3.x', [fenced('sh', commands.cosign3.join('\n'))], true),
    ...details('cosign 2.x', [fenced('sh', commands.cosign2.join('\n'))]),
    ...(commands.gh?.length ? details('gh (bundle referrers only)', [fenced('sh', commands.gh.join('\n'))]) : []),
    ...commands.notes.map((n) => `- ${n}`),
    '',
  ];
}

function snippetBlock(audit: PolicySnippet, enforce: PolicySnippet, auditWord: string): string[] {
  // Keys are the same in both stages: one block, to apply before the policy that names it.
  if (audit.kind === 'TrustRoot') return details(`${audit.kind} (${audit.apiVersion}): apply first`, [fenced('yaml', audit.yaml)]);
  const forAttestations = audit.name.endsWith('-attested') ? ' for the attestations' : '';
  return details(`${audit.kind} (${audit.apiVersion})${forAttestations}: ${auditWord} first, then enforce`, [
    `Roll out with ${auditWord} (reports, blocks nothing):`,
    '',
    fenced('yaml', audit.yaml),
    '',
    'Then, once the reports are clean, enforce:',
    '',
    fenced('yaml', enforce.yaml),
  ]);
}

export function policiesMarkdown(report: PolicyReport): string[] {
  const lines = ['### Cluster policies for this identity', ''];
  const attested = report.attestations?.length ? `, with attestations of type ${report.attestations.map((t) => `\`${t}\``).join(', ')} by that identity` : '';
  if (report.identity) lines.push(`Admit only images signed by \`${report.identity}\` (issuer \`${report.issuer}\`)${attested}.`, '');
  for (const set of report.sets) {
    if (report.sets.length > 1) lines.push(`**${set.repository}**`, '');
    const audit = snippetsOf(set.audit);
    const enforce = snippetsOf(set.enforce);
    audit.forEach((snippet, i) => lines.push(...snippetBlock(snippet, enforce[i], snippet.kind === 'ClusterImagePolicy' ? 'warn' : 'audit')));
  }
  if (report.unavailable) lines.push(`> ${report.unavailable}`, '');
  return lines;
}
