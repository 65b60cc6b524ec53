/**
 * The `cosign verify` commands of a run, for cosign 2 and 3: in sign mode for the
 * identity that just signed, in verify mode for the identity (or regexp) asked for.
 */
import type { Config, IdentityPolicy, SignatureFormat } from '../config-types.js';
import type { SignatureRecord } from '../sign/types.js';
import { anchoredRegexp, cosignVerifyCommands, cosignVerifyCommandsForRegexp, type CustomInstanceFlags, type VerifyCommands } from './commands.js';
import { ghAttestationCommands, type GhCommandsInput } from './gh-commands.js';
import { COSIGN_SIGN_PREDICATE } from './policies-core.js';

function customFlags(config: Config): CustomInstanceFlags | undefined {
  const s = config.sigstore;
  return s.kind === 'custom' ? { trustedRootPath: s.trustedRootPath, rekorUrl: s.rekorUrl } : undefined;
}

/**
 * `gh attestation verify` for what bundle referrers hold: the attestations of `predicateType`,
 * or (none given) the signatures, whose statements are cosign's sign predicate. gh reads no
 * `.sig`/`.att`, so none for `legacy`.
 */
function withGhCommands(commands: VerifyCommands, format: SignatureFormat, input: Omit<GhCommandsInput, 'predicateType'> & { predicateType?: string }): VerifyCommands {
  if (format === 'legacy') return commands;
  const gh = ghAttestationCommands({ ...input, predicateType: input.predicateType ?? COSIGN_SIGN_PREDICATE });
  if (!gh.length) return commands;
  commands.gh = gh;
  if (input.trustedRootPath) {
    commands.notes.push('gh reads `--custom-trusted-root` as JSON Lines, one trusted root per line: a pretty-printed trusted_root.json needs `jq -c . trusted_root.json` first.');
  }
  return commands;
}

/** Sign mode: one command per image signed, with the exact identity of the certificate. */
export function verifyCommandsFor(config: Config, records: SignatureRecord[], identity: string, issuer: string): VerifyCommands {
  const images = [...new Set(records.map((r) => r.image))];
  const custom = customFlags(config);
  const commands = cosignVerifyCommands({ images, identity, issuer, format: config.signatureFormat, custom });
  return withGhCommands(commands, config.signatureFormat, { images, identity, issuer, trustedRootPath: custom?.trustedRootPath });
}

/** Verify mode: the policy asked for, pointed at the format that was found. */
export function verifyModeCommands(config: Config, images: string[], policy: IdentityPolicy, format: SignatureFormat): VerifyCommands {
  const predicateType = config.verifyAttestation?.uri;
  const common = { images: [...new Set(images)], issuer: policy.issuer, format, custom: customFlags(config), ...(predicateType ? { predicateType } : {}) };
  const commands =
    policy.exact !== undefined
      ? cosignVerifyCommands({ ...common, identity: policy.exact })
      : cosignVerifyCommandsForRegexp({ ...common, identityRegexp: policy.regexp ?? '' });
  // gh reads only bundle referrers: its commands only where signatures or attestations were found there.
  const identity = policy.exact !== undefined ? { identity: policy.exact } : { identityRegexp: anchoredRegexp(policy.regexp ?? '') };
  return withGhCommands(commands, format, { images: common.images, issuer: policy.issuer, predicateType, trustedRootPath: common.custom?.trustedRootPath, ...identity });
}
