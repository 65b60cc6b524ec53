/**
 * When the referrers API counts as there. cosign 3 and Kyverno list referrers
 * with go-containerregistry, which trusts the API only when its Content-Type
 * is exactly `application/vnd.oci.image.index.v1+json`
 * (pkg/v1/remote/referrers.go) and otherwise reads the `sha256-<hex>` tag. We
 * must decide the same way: a bundle we list only through an API they do not
 * trust is one they never find (and the signer writes no fallback tag).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '../../src/registry/client.js';
import { staticCredentials } from '../../src/registry/credentials.js';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const DIGEST = `sha256:${'0'.repeat(64)}`;
const listed = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 10, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' };

let server: Server;
let contentType = INDEX;
let host: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (!req.url?.includes('/referrers/')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': contentType }).end(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [listed] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

const referrers = () => new RegistryClient({ credentials: staticCredentials({}), mask: () => {} }).referrers({ registry: host, repository: 'acme/app' }, DIGEST);

describe('the referrers API', () => {
  it('counts as supported on exactly the OCI index content type', async () => {
    contentType = INDEX;
    expect(await referrers()).toEqual({ supported: true, manifests: [listed] });
  });

  it.each([`${INDEX}; charset=utf-8`, `${INDEX};charset=utf-8`, 'application/vnd.oci.image.index.v1+json; profile=x'])(
    'does not count with parameters (%s): cosign 3 would read the fallback tag, and so do we',
    async (type) => {
      contentType = type;
      expect(await referrers()).toEqual({ supported: false });
    },
  );
});
