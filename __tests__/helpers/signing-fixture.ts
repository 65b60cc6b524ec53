/**
 * The sandbox's real Sigstore and OIDC issuer with the run's signer and trust,
 * for tests that call the signing and verifying functions directly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOidc, type SandboxOidc } from '../../sandbox/oidc.js';
import { startSigstore, type SandboxSigstore } from '../../sandbox/sigstore/index.js';
import { EphemeralSigner } from '../../src/identity/certificate.js';
import { requestIdToken } from '../../src/identity/token.js';
import { loadTrust, type Trust } from '../../src/verify/trust.js';

export interface SigningFixture {
  oidc: SandboxOidc;
  sigstore: SandboxSigstore;
  signer: EphemeralSigner;
  trust: Trust;
  bundleDir: string;
  stop(): Promise<void>;
}

export async function startSigningFixture(name: string): Promise<SigningFixture> {
  const oidc = await startOidc();
  const sigstore = await startSigstore({ oidc });
  const signer = new EphemeralSigner(sigstore.fulcioUrl, () => requestIdToken(oidc.defaultRequest.requestUrl, oidc.defaultRequest.requestToken));
  const trust = await loadTrust({ kind: 'custom', fulcioUrl: sigstore.fulcioUrl, rekorUrl: sigstore.rekorUrl, trustedRootPath: sigstore.trustedRootPath });
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  return {
    oidc,
    sigstore,
    signer,
    trust,
    bundleDir,
    async stop() {
      await sigstore.stop();
      await oidc.stop();
      fs.rmSync(bundleDir, { recursive: true, force: true });
    },
  };
}
