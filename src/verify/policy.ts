/**
 * Identity policy. @sigstore/verify matches the SAN with String.match, i.e. an
 * UNANCHORED regular expression: an exact identity passed through would accept
 * look-alikes (`…/release.yml@refs/heads/main-evil`). We hand it anchored RegExps.
 */
import type { IdentityPolicy } from '../config-types.js';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Exact identities compare literally; `-regexp` must match the WHOLE identity (anchored). */
export function identityMatcher(policy: IdentityPolicy): RegExp {
  if (policy.exact !== undefined) return new RegExp(`^${escapeRegExp(policy.exact)}$`);
  if (policy.regexp !== undefined) return new RegExp(`^(?:${policy.regexp})$`);
  throw new Error('an identity policy needs an exact identity or a regexp');
}

export function describePolicy(policy: IdentityPolicy): string {
  return policy.exact !== undefined ? policy.exact : `/${policy.regexp}/ (anchored)`;
}

/**
 * Patterns with an unescaped `.*`/`.+` (e.g. `@refs/.+`) accept any branch, tag
 * or workflow there, pull-request refs included: worth a warning.
 */
export function looseRegexpWarning(regexp: string): string | undefined {
  const open = regexp.match(/(?<!\\)\.[*+]/);
  if (!open) return undefined;
  return `certificate-identity-regexp '${regexp}' accepts any text where it says '${open[0]}' (any branch, tag or workflow, pull-request refs included); prefer an exact certificate-identity such as https://github.com/<owner>/<repo>/.github/workflows/<file>@refs/heads/main, or narrow the pattern (e.g. @refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+)`;
}
