/**
 * A registry WITH the OCI 1.1 referrers API, for the one branch Debian's
 * distribution 2.8 cannot show: a transparent proxy in front of a sandbox
 * registry that remembers every manifest pushed through it with a `subject`
 * and answers `GET /v2/<name>/referrers/<digest>` from them, as the
 * distribution spec says: 200, `Content-Type: application/vnd.oci.image.index.v1+json`,
 * an index whose descriptors carry `artifactType` (the manifest's, else its
 * config media type) and the manifest's `annotations`; `?artifactType=`
 * filters (and says so in `OCI-Filters-Applied`). Manifest PUTs with a subject
 * are answered with `OCI-Subject`, as registries with the API do.
 * Everything else is relayed unchanged (the Host header too, so upload
 * locations point back at the proxy).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

interface Referrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ReferrersProxy {
  host: string;
  url: string;
  /** Referrer listings served (so a test can show the client asked). */
  referrerRequests(): number;
  stop(): Promise<void>;
}

const MANIFEST_PUT = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const REFERRERS = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/;

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface ReferrersProxyOptions {
  /**
   * The Content-Type of referrer listings; default exactly the OCI index type.
   * Some registries add parameters (`; charset=utf-8`), which go-containerregistry,
   * and so cosign 3 and Kyverno, do not take for the API.
   */
  contentType?: string;
}

export async function startReferrersProxy(upstream: string, opts: ReferrersProxyOptions = {}): Promise<ReferrersProxy> {
  const target = new URL(upstream);
  const referrers = new Map<string, Referrer[]>();
  let listings = 0;

  /** Records a manifest that names a subject, once its PUT has succeeded upstream. */
  const remember = (name: string, body: Buffer, contentType: string): string | undefined => {
    let m: { subject?: { digest?: string }; artifactType?: string; config?: { mediaType?: string }; annotations?: Record<string, string>; mediaType?: string };
    try {
      m = JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
    const subject = m.subject?.digest;
    if (!subject) return undefined;
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const key = `${name}@${subject}`;
    const list = (referrers.get(key) ?? []).filter((r) => r.digest !== digest);
    list.push({
      mediaType: m.mediaType ?? contentType,
      digest,
      size: body.length,
      artifactType: m.artifactType ?? m.config?.mediaType,
      ...(m.annotations ? { annotations: m.annotations } : {}),
    });
    referrers.set(key, list);
    return subject;
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const listing = REFERRERS.exec(url.pathname);
      if (listing && (req.method === 'GET' || req.method === 'HEAD')) {
        listings++;
        const filter = url.searchParams.get('artifactType');
        const all = referrers.get(`${listing[1]}@${listing[2]}`) ?? [];
        const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: filter ? all.filter((r) => r.artifactType === filter) : all }));
        res.writeHead(200, { 'content-type': opts.contentType ?? OCI_INDEX, 'content-length': body.length, ...(filter ? { 'oci-filters-applied': 'artifactType' } : {}) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      const body = await readAll(req);
      const headers = { ...req.headers };
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upRes) => {
        void (async () => {
          const upBody = await readAll(upRes);
          const out = { ...upRes.headers };
          const put = MANIFEST_PUT.exec(url.pathname);
          if (req.method === 'PUT' && put && upRes.statusCode === 201) {
            const subject = remember(put[1], body, String(req.headers['content-type'] ?? ''));
            if (subject) out['oci-subject'] = subject;
          }
          res.writeHead(upRes.statusCode ?? 502, out);
          res.end(upBody);
        })();
      });
      up.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${err.message}`);
      });
      up.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  return {
    host,
    url: `http://${host}`,
    referrerRequests: () => listings,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
