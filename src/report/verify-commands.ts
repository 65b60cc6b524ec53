/** The `verify-commands` output: cosign commands for every image signed, with the exact identity. */
import type { Config } from '../config-types.js';
import type { SignatureRecord } from '../sign/types.js';
import { cosignVerifyCommands } from './commands.js';

export function verifyCommandsFor(config: Config, records: SignatureRecord[], identity: string, issuer: string): string[] {
  const images = [...new Set(records.map((r) => r.image))];
  const { cosign2 } = cosignVerifyCommands({
    images,
    identity,
    issuer,
    format: config.signatureFormat,
    custom: config.sigstore.kind === 'custom' ? { trustedRootPath: config.sigstore.trustedRootPath, rekorUrl: config.sigstore.rekorUrl } : undefined,
  });
  return cosign2;
}
