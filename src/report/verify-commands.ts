/**
 * The `cosign verify` commands of a run, for cosign 2 and 3: in sign mode for the
 * identity that just signed, in verify mode for the identity (or regexp) asked for.
 */
import type { Config, IdentityPolicy, SignatureFormat } from '../config-types.js';
import type { SignatureRecord } from '../sign/types.js';
import { anchoredRegexp, cosignVerifyCommands, cosignVerifyCommandsForRegexp, type CustomInstanceFlags, type VerifyCommands } from './commands.js';
import { ghAttestationCommands } from './gh-commands.js';

function customFlags(config: Config): CustomInstanceFlags | undefined {
  const s = config.sigstore;
  return s.kind === 'custom' ? { trustedRootPath: s.trustedRootPath, rekorUrl: s.rekorUrl } : undefined;
}

/** Sign mode: one command per image signed, with the exact identity of the certificate. */
export function verifyCommandsFor(config: Config, records: SignatureRecord[], identity: string, issuer: string): VerifyCommands {
  const images = [...new Set(records.map((r) => r.image))];
  return cosignVerifyCommands({ images, identity, issuer, format: config.signatureFormat, custom: customFlags(config) });
}

/** Verify mode: the policy asked for, pointed at the format that was found. */
export function verifyModeCommands(config: Config, images: string[], policy: IdentityPolicy, format: SignatureFormat): VerifyCommands {
  const predicateType = config.verifyAttestation?.uri;
  const common = { images: [...new Set(images)], issuer: policy.issuer, format, custom: customFlags(config), ...(predicateType ? { predicateType } : {}) };
  const commands =
    policy.exact !== undefined
      ? cosignVerifyCommands({ ...common, identity: policy.exact })
      : cosignVerifyCommandsForRegexp({ ...common, identityRegexp: policy.regexp ?? '' });
  // gh reads only bundle referrers: its commands only where attestations were found there.
  if (predicateType && format !== 'legacy') {
    const identity = policy.exact !== undefined ? { identity: policy.exact } : { identityRegexp: anchoredRegexp(policy.regexp ?? '') };
    const gh = ghAttestationCommands({ images: common.images, issuer: policy.issuer, predicateType, trustedRootPath: common.custom?.trustedRootPath, ...identity });
    if (gh.length) commands.gh = gh;
    if (gh.length && common.custom?.trustedRootPath) {
      commands.notes.push('gh reads `--custom-trusted-root` as JSON Lines, one trusted root per line: a pretty-printed trusted_root.json needs `jq -c . trusted_root.json` first.');
    }
  }
  return commands;
}
