/**
 * Trust material: the custom instance's trusted_root.json, or the public-good
 * root from Sigstore's TUF repository (cached in the runner's tool cache so that
 * repeat runs on one runner do not fetch it again).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { ActionError } from '../errors.js';
import type { SigstoreInstance } from '../config-types.js';

export interface Trust {
  root: TrustedRoot;
  material: TrustMaterial;
  source: string;
}

export async function loadTrust(instance: SigstoreInstance): Promise<Trust> {
  if (instance.kind === 'custom') {
    if (!instance.trustedRootPath) {
      throw new ActionError('verifying needs the trusted root of the custom Sigstore instance', {
        input: 'trusted-root',
        fix: 'set `trusted-root` to the path of its trusted_root.json',
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(await fs.readFile(instance.trustedRootPath, 'utf8'));
    } catch (err) {
      throw new ActionError(`cannot read ${instance.trustedRootPath}: ${(err as Error).message}`, {
        input: 'trusted-root',
        fix: 'point `trusted-root` at a readable trusted_root.json',
      });
    }
    const root = TrustedRoot.fromJSON(json);
    return { root, material: toTrustMaterial(root), source: instance.trustedRootPath };
  }
  const { getTrustedRoot } = await import('@sigstore/tuf');
  const cachePath = path.join(process.env.RUNNER_TOOL_CACHE || os.tmpdir(), 'sign-action', 'sigstore-tuf');
  try {
    const root = await getTrustedRoot({ cachePath, retry: 3, timeout: 15_000 });
    return { root, material: toTrustMaterial(root), source: 'Sigstore public-good TUF repository' };
  } catch (err) {
    throw new ActionError(`could not get the Sigstore public-good trusted root: ${(err as Error).message}`, {
      fix: 'check the network access to tuf-repo-cdn.sigstore.dev, or set `verify: false` to skip the self-check',
      cause: err,
    });
  }
}
