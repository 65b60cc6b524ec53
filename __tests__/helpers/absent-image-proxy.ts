/**
 * Real-world signatures are of images whose bytes we do not have (their digest
 * cannot be reproduced). This transparent proxy in front of a sandbox registry
 * stands in for the registry that holds them: it answers `HEAD` for the listed
 * manifest digests (what the action's tag/digest resolution asks), and relays
 * everything else unchanged, so the `.sig` manifest, the payload blob and the
 * referrers the verifier reads are the real ones pushed to the sandbox.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AbsentImageProxy {
  host: string;
  url: string;
  stop(): Promise<void>;
}

const MANIFEST = /^\/v2\/.+\/manifests\/(sha256:[a-f0-9]{64})$/;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export async function startAbsentImageProxy(upstream: string, digests: string[]): Promise<AbsentImageProxy> {
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const digest = MANIFEST.exec(path)?.[1];
    if (req.method === 'HEAD' && digest && digests.includes(digest)) {
      res.writeHead(200, { 'docker-content-digest': digest, 'content-type': OCI_MANIFEST, 'content-length': '1024' });
      res.end();
      return;
    }
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  return {
    host,
    url: `http://${host}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
