/**
 * "Never let a retry outlive the certificate": a legacy signature hands its
 * certificate's notAfter to Rekor as the deadline, so a failing or hung log
 * makes the signature fail when the certificate expires, not a minute later
 * with an entry no verifier would accept.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SigningCertificate } from '../../src/identity/certificate.js';
import { signLegacy, type SigningContext } from '../../src/sign/legacy.js';
import type { Subject } from '../../src/subjects/resolve.js';
import { RekorClient, type EntryOptions } from '../../src/transparency/rekor.js';

const subject: Subject = {
  repo: { registry: '127.0.0.1:5000', repository: 'acme/app' },
  digest: `sha256:${'a'.repeat(64)}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 100,
  dockerReference: '127.0.0.1:5000/acme/app',
  names: [],
};

function context(notAfter: Date, rekor: Pick<RekorClient, 'createEntry' | 'baseUrl'>): SigningContext {
  const cert: SigningCertificate = {
    leafPem: '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n',
    chainPems: [],
    notBefore: new Date(Date.now() - 60_000),
    notAfter,
    identity: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
    issuer: 'https://token.actions.githubusercontent.com',
  };
  return {
    signer: { certificate: async () => cert, sign: () => Buffer.from('signature') },
    registry: { uploadBlob: async () => ({ descriptor: { mediaType: '', digest: '', size: 0 }, existed: false }) },
    rekor,
    annotations: {},
    bundleDir: '/nonexistent',
    instance: 'custom',
  } as unknown as SigningContext;
}

describe('the certificate bounds the retries of its log entry', () => {
  it("passes the certificate's notAfter to Rekor as the deadline", async () => {
    const notAfter = new Date(Date.now() + 10 * 60_000);
    let given: EntryOptions | undefined;
    const rekor = {
      baseUrl: 'http://rekor.invalid',
      createEntry: async (_p: object, _image?: string, opts?: EntryOptions) => {
        given = opts;
        throw new Error('stop here');
      },
    };
    await expect(signLegacy(subject, context(notAfter, rekor as unknown as RekorClient))).rejects.toThrow('stop here');
    expect(given?.deadline).toBe(notAfter.getTime());
  });

  it('fails when the certificate expires while Rekor hangs, naming the expiry', async () => {
    const hung = http.createServer(() => undefined);
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    try {
      const notAfter = new Date(Date.now() + 1000);
      const rekor = new RekorClient(`http://127.0.0.1:${(hung.address() as AddressInfo).port}`);
      const started = Date.now();
      await expect(signLegacy(subject, context(notAfter, rekor))).rejects.toThrow(/timed out.*signing certificate expires at/);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      hung.closeAllConnections();
      await new Promise((r) => hung.close(r));
    }
  });
});
