/**
 * Ready-to-run `cosign verify` commands, shown in the outputs and the job summary.
 * Users paste them verbatim, so every value is shell-quoted and every flag exists
 * in the cosign versions named below (checked against sigstore/cosign's sources:
 * `cmd/cosign/cli/options/verify.go`, `cmd/cosign/cli/verify/verify.go`).
 *
 * Facts the commands rest on:
 * - cosign 3 reads Sigstore bundle referrers by default (`--new-bundle-format`
 *   defaults to true and is deprecated) and falls back to the legacy `.sig` tag only
 *   when no bundle is found. It decides that from the FIRST image of a command, so
 *   we write one command per image.
 * - cosign 2 reads only `.sig` unless given `--new-bundle-format` (verifying images
 *   with it works from 2.6.0; 2.6.3+ also detects bundles by itself).
 * - `--trusted-root` (a trusted_root.json) covers a custom instance's Fulcio, Rekor,
 *   CT log and TSA: legacy signatures from cosign 2.5.1, bundles from 2.6.0.
 * - `--rekor-url` is deprecated in cosign 3's `verify`; cosign 2 uses it only for
 *   online lookups, so it is given to cosign 2 only, and only for a custom instance.
 * - `--use-signed-timestamps` is needed only when the log gives no integrated time
 *   (Rekor v2): then the RFC 3161 timestamp is what proves the signing time.
 */
import { ActionError } from '../errors.js';
import type { SignatureFormat } from '../config-types.js';

export interface CustomInstanceFlags {
  /** Path of the custom instance's trusted_root.json, as the verifying machine will see it. */
  trustedRootPath?: string;
  /** The custom Rekor (cosign 2 only: used when a signature carries no offline proof). */
  rekorUrl?: string;
  /** Signatures logged in Rekor v2 carry no integrated time: verify the RFC 3161 timestamp. */
  useSignedTimestamps?: boolean;
  /** The custom Fulcio embeds no SCT (no CT log). Weakens verification: say so to the user. */
  ignoreSct?: boolean;
}

interface CommonInput {
  /** `repo@sha256:<hex>` (or `repo:tag@sha256:<hex>`): always by digest, never by tag. */
  images: string[];
  issuer: string;
  format: SignatureFormat;
  custom?: CustomInstanceFlags;
  /** Attestations of this type (full URI) instead of signatures: `cosign verify-attestation --type`. */
  predicateType?: string;
}

export interface VerifyCommandsInput extends CommonInput {
  /** The exact certificate identity (SAN). */
  identity: string;
}

export interface RegexpVerifyCommandsInput extends CommonInput {
  /** The identity regular expression given to verify mode. */
  identityRegexp: string;
  /**
   * Anchor it as `^(?:…)$`, the way this action's own check does (default true), so
   * cosign accepts exactly what the action accepted. Go's regexp is unanchored.
   */
  anchor?: boolean;
}

export interface VerifyCommands {
  /** For cosign 2.x; the `verify-commands` output. */
  cosign2: string[];
  /** For cosign 3.x. */
  cosign3: string[];
  /** What the commands need (versions, files), one sentence each, for the summary. */
  notes: string[];
  /** Bundle referrers (signed, or found): `gh attestation verify` commands (./gh-commands.ts). */
  gh?: string[];
}

/** Characters that never need quoting in a POSIX shell word. */
const SHELL_SAFE = /^[A-Za-z0-9@%+=:,./_-]+$/;

/** POSIX single-quoting: `'` becomes `'\''`. Safe in sh, bash, zsh; nothing inside is expanded. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quote only when needed, so image references stay readable. */
export function shellWord(value: string): string {
  return SHELL_SAFE.test(value) ? value : shellQuote(value);
}

const DIGEST_REFERENCE = /@sha256:[0-9a-f]{64}$/;

/** A value with a newline (or another control character) would not be one line, one command. */
function assertOneLine(value: string, what: string, image?: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new ActionError(`the ${what} contains a control character (such as a newline), so no one-line cosign command can be written for it`, {
      image,
      fix: `check where the ${what} comes from; a certificate identity or issuer is a single-line URI or e-mail address`,
    });
  }
}

function checkImages(images: string[]): void {
  for (const image of images) {
    assertOneLine(image, 'image reference', image);
    if (!DIGEST_REFERENCE.test(image)) {
      throw new ActionError('a verify command must name the image by digest (`repo@sha256:<64 hex>`): a tag can be moved to other content', {
        image,
        fix: 'pass the `repo@sha256:…` reference that was signed',
      });
    }
  }
}

/** Flags after the identity and issuer, before the image (cosign takes flags in any order). */
function trailingFlags(input: CommonInput, major: 2 | 3): string[] {
  const flags: string[] = [];
  const custom = input.custom;
  if (major === 2 && input.format === 'bundle') flags.push('--new-bundle-format');
  if (custom?.trustedRootPath) flags.push('--trusted-root', shellWord(custom.trustedRootPath));
  if (major === 2 && custom?.rekorUrl) flags.push('--rekor-url', shellWord(custom.rekorUrl));
  if (custom?.useSignedTimestamps) flags.push('--use-signed-timestamps');
  if (custom?.ignoreSct) flags.push('--insecure-ignore-sct');
  return flags;
}

function build(input: CommonInput, identityFlags: string[]): VerifyCommands {
  checkImages(input.images);
  assertOneLine(input.issuer, 'certificate issuer');
  for (const v of [input.custom?.trustedRootPath, input.custom?.rekorUrl]) if (v !== undefined) assertOneLine(v, 'custom instance setting');
  if (input.predicateType !== undefined) assertOneLine(input.predicateType, 'predicate type');
  // The full URI, never a short name: cosign 2 and 3 compare it verbatim with the statement.
  const verb = input.predicateType === undefined ? ['verify'] : ['verify-attestation', '--type', shellQuote(input.predicateType)];
  const head = ['cosign', ...verb, ...identityFlags, '--certificate-oidc-issuer', shellQuote(input.issuer)];
  const line = (major: 2 | 3, image: string): string => [...head, ...trailingFlags(input, major), shellWord(image)].join(' ');
  return {
    cosign2: input.images.map((image) => line(2, image)),
    cosign3: input.images.map((image) => line(3, image)),
    notes: notesFor(input),
  };
}

function notesFor(input: CommonInput): string[] {
  const notes: string[] = [];
  if (input.predicateType !== undefined) {
    notes.push(
      'cosign 3 (and 2.6.x) reads attestation bundles first and the legacy `.att` tag only when no Sigstore bundle referrer exists for the digest, signatures included; cosign 2 reads attestation bundles only from 2.6.0, with `--new-bundle-format`.',
    );
  } else if (input.format === 'bundle') {
    notes.push('cosign 2 reads Sigstore bundle referrers only from 2.6.0, with `--new-bundle-format`; cosign 3 reads them by default.');
  } else {
    notes.push('cosign 3 verifies bundles first and reads the legacy `.sig` signature only when no bundle exists for the digest: a bundle attached later by another signer hides it.');
  }
  if (input.format === 'both' && input.predicateType === undefined) notes.push('Both formats were written: cosign 2 before 2.6.3 checks the `.sig` signature; cosign 3 (and 2.6.3+) checks the bundle.');
  if (input.custom?.trustedRootPath) {
    notes.push(
      '`--trusted-root` needs cosign 2.5.1 or later (2.6.0 for bundles). Older cosign 2 releases take the keys from SIGSTORE_ROOT_FILE, SIGSTORE_REKOR_PUBLIC_KEY and SIGSTORE_CT_LOG_PUBLIC_KEY_FILE (PEM files) instead.',
    );
  }
  if (input.custom?.ignoreSct) notes.push('`--insecure-ignore-sct`: this instance issues certificates without a CT log proof, so that check is skipped.');
  return notes;
}

/** Commands for an exact identity: what sign mode prints, and verify mode given `certificate-identity`. */
export function cosignVerifyCommands(input: VerifyCommandsInput): VerifyCommands {
  assertOneLine(input.identity, 'certificate identity');
  return build(input, ['--certificate-identity', shellQuote(input.identity)]);
}

/** The `^(?:…)$` form this action checks with (src/verify/policy.ts); RE2 reads it the same way. */
export function anchoredRegexp(regexp: string): string {
  return `^(?:${regexp})$`;
}

/** Syntax JavaScript accepts and Go's RE2 (cosign, Kyverno, policy-controller) rejects. */
export function re2Incompatibility(regexp: string): string | undefined {
  if (/\(\?<?[=!]/.test(regexp)) return 'lookahead/lookbehind';
  if (/\\[1-9]|\\k</.test(regexp)) return 'backreferences';
  return undefined;
}

/** Commands for verify mode given `certificate-identity-regexp`. */
export function cosignVerifyCommandsForRegexp(input: RegexpVerifyCommandsInput): VerifyCommands {
  assertOneLine(input.identityRegexp, 'certificate identity regexp');
  const regexp = input.anchor === false ? input.identityRegexp : anchoredRegexp(input.identityRegexp);
  const result = build(input, ['--certificate-identity-regexp', shellQuote(regexp)]);
  const unsupported = re2Incompatibility(input.identityRegexp);
  if (unsupported) result.notes.push(`The identity regexp uses ${unsupported}, which Go's regexp (used by cosign) does not support: cosign will reject it.`);
  return result;
}
