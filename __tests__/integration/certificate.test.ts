/**
 * One key and one Fulcio certificate per run (cosign mints one per image), shared
 * by concurrent signers, re-minted only when less than 2 minutes remain; the chain
 * Fulcio returns is kept. Against the sandbox's real Fulcio over HTTP.
 */
import crypto from 'node:crypto';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { EphemeralSigner, REFRESH_MARGIN_MS } from '../../src/identity/certificate.js';
import { requestIdToken } from '../../src/identity/token.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ registries: [] });
}, 60_000);
afterAll(() => sandbox?.stop());

function signer(now: () => number): EphemeralSigner {
  const { requestUrl, requestToken } = sandbox.oidc!.defaultRequest;
  return new EphemeralSigner(sandbox.sigstore!.fulcioUrl, () => requestIdToken(requestUrl, requestToken), now);
}

describe('EphemeralSigner', () => {
  it('asks Fulcio once for many concurrent signatures and keeps the chain', async () => {
    const s = signer(Date.now);
    const certs = await Promise.all(Array.from({ length: 20 }, () => s.certificate()));
    expect(s.fulcioRequests).toBe(1);
    expect(new Set(certs.map((c) => c.leafPem)).size).toBe(1);
    expect(certs[0].chainPems.length).toBeGreaterThan(0);
    expect(certs[0].identity).toBe(`https://github.com/${defaultClaims().job_workflow_ref}`);
    expect(certs[0].issuer).toBe('https://token.actions.githubusercontent.com');
    // The certificate is for the signer's own key: a signature verifies with it.
    const data = Buffer.from('payload');
    const leafKey = new crypto.X509Certificate(certs[0].leafPem).publicKey;
    expect(crypto.verify('sha256', data, leafKey, s.sign(data))).toBe(true);
  });

  it('re-mints only when less than two minutes of validity remain', async () => {
    let clock = Date.now();
    const s = signer(() => clock);
    const first = await s.certificate();
    clock = first.notAfter.getTime() - REFRESH_MARGIN_MS - 1000;
    expect((await s.certificate()).leafPem).toBe(first.leafPem);
    expect(s.fulcioRequests).toBe(1);
    clock = first.notAfter.getTime() - REFRESH_MARGIN_MS + 1000;
    await s.certificate();
    expect(s.fulcioRequests).toBe(2);
  });
});
