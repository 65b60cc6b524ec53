/**
 * `gh attestation verify` commands for attestations stored as bundle referrers
 * (gh reads no `.att` tag), checked against cli/cli
 * pkg/cmd/attestation/verify (attestations.md §2.4): gh needs `--owner` or
 * `--repo`, and compares the certificate's source-repository extension with
 * it, so the repository is taken from a GitHub workflow identity
 * (`https://github.com/<owner>/<repo>/.github/workflows/…`); none is written
 * for other identities. `--predicate-type` is always given: gh 2.60 checked
 * no type unless told, current gh defaults to SLSA v1.
 */
import { shellQuote, shellWord } from './commands.js';

export interface GhCommandsInput {
  images: string[];
  /** The exact identity, or the anchored regexp (`^(?:…)$`) verify mode used. */
  identity?: string;
  identityRegexp?: string;
  issuer: string;
  predicateType: string;
  trustedRootPath?: string;
}

const WORKFLOW_IDENTITY = /^https:\/\/github\.com\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\/\.github\/workflows\//;

/** One command per image, or none when the identity names no GitHub repository. */
export function ghAttestationCommands(input: GhCommandsInput): string[] {
  const named = WORKFLOW_IDENTITY.exec(input.identity ?? '');
  const owner = named ? undefined : /^\^\(\?:https:\/\/github\\?\.com\/([A-Za-z0-9_-]+)\//.exec(input.identityRegexp ?? '')?.[1];
  if (!named && !owner) return [];
  const scope = named ? ['--repo', shellWord(`${named[1]}/${named[2]}`)] : ['--owner', shellWord(owner!)];
  const identity = input.identity !== undefined ? ['--cert-identity', shellQuote(input.identity)] : ['--cert-identity-regex', shellQuote(input.identityRegexp!)];
  const custom = input.trustedRootPath ? ['--custom-trusted-root', shellWord(input.trustedRootPath)] : [];
  return input.images.map((image) =>
    ['gh', 'attestation', 'verify', shellWord(`oci://${image}`), '--bundle-from-oci', '--predicate-type', shellQuote(input.predicateType), ...scope, ...identity, '--cert-oidc-issuer', shellQuote(input.issuer), ...custom].join(' '),
  );
}
