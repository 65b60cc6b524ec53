/**
 * The client's auth and edge behaviour against a scripted fake registry on
 * loopback: Basic, identity tokens, token refresh, pull-only fallback, realms,
 * credentials never following other hosts, settle retries, referrers detection.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActionError } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import { staticCredentials, type Credential } from '../../src/registry/credentials.js';
import type { Repo } from '../../src/registry/types.js';

interface Seen {
  method: string;
  path: string;
  authorization?: string;
  body: string;
}
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface Fake {
  host: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function fake(handler: Handler): Promise<Fake> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const FAST = { attempts: 2, baseDelayMs: 5, maxDelayMs: 20, budgetMs: 5000 };
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
function client(cred: Omit<Credential, 'source'> & { source?: string }, masked: string[] = []): RegistryClient {
  return new RegistryClient({ credentials: staticCredentials(cred), retry: FAST, mask: (s) => masked.push(s) });
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
async function serve(handler: Handler): Promise<Fake> {
  const f = await fake(handler);
  closers.push(f.close);
  return f;
}

describe('Basic auth', () => {
  const handler: Handler = (req, res) => {
    if (req.headers.authorization !== basic('alice', 'wonderland')) {
      json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': 'Basic realm="fake"' });
      return;
    }
    res.writeHead(404).end();
  };

  it('answers the challenge once, then sends credentials preemptively', async () => {
    const f = await serve(handler);
    const c = client({ username: 'alice', password: 'wonderland' });
    const repo = { registry: f.host, repository: 'acme/app' };
    expect(await c.hasBlob(repo, 'sha256:' + '0'.repeat(64))).toBe(false);
    expect(await c.hasBlob(repo, 'sha256:' + '1'.repeat(64))).toBe(false);
    expect(f.seen.map((s) => s.authorization === undefined)).toEqual([true, false, false]);
    expect(c.requestCount).toBe(3);
  });

  it('takes one challenge for requests started together, not one each', async () => {
    const f = await serve(handler);
    const c = client({ username: 'alice', password: 'wonderland' });
    const repo = { registry: f.host, repository: 'acme/app' };
    const digests = Array.from({ length: 6 }, (_, i) => `sha256:${String(i).repeat(64)}`);
    expect(await Promise.all(digests.map((d) => c.hasBlob(repo, d)))).toEqual(digests.map(() => false));
    // The first goes alone and draws the 401; the others wait for it and send Basic up front.
    expect(f.seen.filter((s) => s.authorization === undefined)).toHaveLength(1);
    expect(f.seen[0].authorization).toBeUndefined();
    expect(c.requestCount).toBe(7);
  });

  it('reports a refused password with the source, never the password or its base64', async () => {
    const f = await serve(handler);
    const masked: string[] = [];
    const c = client({ username: 'alice', password: 'WRONG-pass-42', source: 'registry-username/registry-password inputs' }, masked);
    const err = (await c.pushBlob({ registry: f.host, repository: 'acme/app' }, Buffer.from('x')).catch((e: unknown) => e)) as ActionError;
    expect(err).toBeInstanceOf(ActionError);
    // The POST that starts the upload is refused, and what the registry said is quoted.
    expect(err.message).toContain(`${f.host} refused to let us write to acme/app (HTTP 401 UNAUTHORIZED: "authentication required")`);
    expect(err.message).toContain('the registry refused the username and password');
    expect(err.message).toContain('with an account allowed to push to acme/app');
    expect(err.message).toContain('with the credentials from registry-username/registry-password inputs');
    expect(err.message).not.toContain('WRONG-pass-42');
    expect(err.message).not.toContain(Buffer.from('alice:WRONG-pass-42').toString('base64'));
    expect(masked).toContain('WRONG-pass-42');
    // Challenge, one try with the password, and no endless retrying.
    expect(f.seen).toHaveLength(2);
  });
});

describe('Bearer auth', () => {
  function tokenRegistry(opts: { grant: (scope: string, req: IncomingMessage, body: string) => string | undefined; valid: (token: string, path: string, method: string) => boolean }): Promise<Fake> {
    let realm = '';
    const f = serve((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') {
        const scope = url.searchParams.get('scope') ?? new URLSearchParams(body).get('scope') ?? '';
        const token = opts.grant(scope, req, body);
        if (!token) return json(res, 403, { errors: [{ code: 'DENIED', message: `no ${scope}` }] });
        return json(res, 200, { access_token: token, expires_in: 300 });
      }
      const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!opts.valid(token, url.pathname, req.method ?? '')) {
        return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'no' }] }, { 'www-authenticate': `Bearer realm="${realm}",service="fake"` });
      }
      res.writeHead(404).end();
    });
    return f.then((server) => {
      realm = `http://${server.host}/token`;
      return server;
    });
  }

  it('exchanges an identity token with a refresh_token POST and caches one token per repository', async () => {
    const f = await tokenRegistry({
      grant: (_scope, req, body) => {
        const form = new URLSearchParams(body);
        return req.method === 'POST' && form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === 'refresh-me' && form.get('service') === 'fake'
          ? `tok-${form.get('scope')}`
          : undefined;
      },
      valid: (t) => t.startsWith('tok-'),
    });
    const masked: string[] = [];
    const c = client({ identityToken: 'refresh-me' }, masked);
    const a: Repo = { registry: f.host, repository: 'acme/a' };
    const b: Repo = { registry: f.host, repository: 'acme/b' };
    for (const repo of [a, a, b, b]) await c.hasBlob(repo, 'sha256:' + '0'.repeat(64));
    const tokenCalls = f.seen.filter((s) => s.path.startsWith('/token'));
    expect(tokenCalls.map((s) => new URLSearchParams(s.body).get('scope'))).toEqual(['repository:acme/a:pull,push', 'repository:acme/b:pull,push']);
    // acme/b's token is fetched without a 401 first: the realm is known by then.
    expect(f.seen.filter((s) => !s.path.startsWith('/token')).map((s) => s.authorization)).toEqual([
      undefined,
      'Bearer tok-repository:acme/a:pull,push',
      'Bearer tok-repository:acme/a:pull,push',
      'Bearer tok-repository:acme/b:pull,push',
      'Bearer tok-repository:acme/b:pull,push',
    ]);
    expect(masked).toEqual(expect.arrayContaining(['refresh-me', 'tok-repository:acme/a:pull,push']));
  });

  it('takes one challenge for requests started together, and one token per repository', async () => {
    const f = await tokenRegistry({ grant: (scope) => `tok-${scope}`, valid: (t, path) => t.includes(path.split('/').slice(2, 4).join('/')) });
    const c = client({ username: 'u', password: 'p' });
    const repos: Repo[] = ['acme/a', 'acme/b'].map((repository) => ({ registry: f.host, repository }));
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => c.hasBlob(repos[i % 2], `sha256:${String(i).repeat(64)}`)));
    const registryCalls = f.seen.filter((s) => !s.path.startsWith('/token'));
    expect(registryCalls.filter((s) => !s.authorization)).toHaveLength(1);
    expect(registryCalls).toHaveLength(7);
    const scopes = f.seen.filter((s) => s.path.startsWith('/token')).map((s) => new URL(s.path, 'http://x').searchParams.get('scope'));
    expect(scopes.sort()).toEqual(['repository:acme/a:pull,push', 'repository:acme/b:pull,push']);
  });

  it('refreshes a token refused while we thought it valid, once', async () => {
    let issued = 0;
    let revoked = 'tok-1';
    const f = await tokenRegistry({ grant: () => `tok-${++issued}`, valid: (t) => t !== '' && t !== revoked });
    revoked = '';
    const c = client({ username: 'u', password: 'p4ssword' });
    const repo = { registry: f.host, repository: 'acme/app' };
    await c.hasBlob(repo, 'sha256:' + '0'.repeat(64)); // gets tok-1
    revoked = 'tok-1';
    await c.hasBlob(repo, 'sha256:' + '0'.repeat(64)); // tok-1 refused → tok-2
    expect(issued).toBe(2);
    expect(f.seen.at(-1)?.authorization).toBe('Bearer tok-2');
    expect(f.seen.filter((s) => s.path.startsWith('/token')).every((s) => s.authorization === basic('u', 'p4ssword'))).toBe(true);
  });

  it('falls back to a pull token when push is refused, reads with it, and explains a refused push', async () => {
    const f = await tokenRegistry({
      grant: (scope) => (scope.endsWith(':pull') ? 'pull-only' : undefined),
      valid: (t, _path, method) => t === 'pull-only' && (method === 'GET' || method === 'HEAD'),
    });
    const c = client({ source: 'anonymous' });
    const repo = { registry: f.host, repository: 'acme/app' };
    expect(await c.hasBlob(repo, 'sha256:' + '0'.repeat(64))).toBe(false);
    const err = (await c.putManifest(repo, 'latest', '{}', 'application/vnd.oci.image.manifest.v1+json').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/refused to let us write to acme\/app \(HTTP 401 UNAUTHORIZED: "no"\) without credentials .*the token server granted pull access only/);
  });

  it('does not send credentials to a plain-http token realm off loopback', async () => {
    const f = await serve((_req, res) =>
      json(res, 401, {}, { 'www-authenticate': 'Bearer realm="http://auth.example.com/token",service="x"' }),
    );
    const err = (await client({ username: 'u', password: 'secret-pw' }).hasBlob({ registry: f.host, repository: 'a/b' }, 'sha256:' + '0'.repeat(64)).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/token realm http:\/\/auth\.example\.com, which is not https; we do not send credentials there/);
    expect(f.seen).toHaveLength(1);
  });
});

describe('credentials stay on the registry host', () => {
  it('are not sent along a redirect or to an upload location on another host', async () => {
    const other = await serve((req, res) => {
      if (req.method === 'PUT') return void res.writeHead(201).end();
      res.writeHead(200).end('blob');
    });
    const digest = `sha256:${createHash('sha256').update('blob').digest('hex')}`;
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== basic('u', 'pw')) return json(res, 401, {}, { 'www-authenticate': 'Basic realm="r"' });
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'POST') return void res.writeHead(202, { location: `http://${other.host}/upload/1?_state=abc%3D` }).end();
      res.writeHead(307, { location: `http://${other.host}/storage/blob` }).end();
    });
    const c = client({ username: 'u', password: 'pw' });
    const repo = { registry: registry.host, repository: 'acme/app' };
    await c.pushBlob(repo, Buffer.from('blob'));
    expect((await c.getBlob(repo, digest)).toString()).toBe('blob');
    expect(other.seen.map((s) => [s.method, s.authorization])).toEqual([
      ['PUT', undefined],
      ['GET', undefined],
    ]);
    expect(other.seen[0].path).toBe(`/upload/1?_state=abc%3D&digest=${encodeURIComponent(digest)}`);
    expect(other.seen[0].body).toBe('blob');
  });
});

describe('reads', () => {
  const manifest = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}';

  it('retries 404 right after a push only with expectExists', async () => {
    let misses = 2;
    const f = await serve((req, res) => {
      if (misses-- > 0) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(req.method === 'HEAD' ? undefined : manifest);
    });
    const repo = { registry: f.host, repository: 'acme/app' };
    const c = client({});
    expect(await c.getManifest(repo, 'v1')).toBeUndefined();
    const got = await c.getManifest(repo, 'v1', { expectExists: true });
    expect(got?.body.toString()).toBe(manifest);
    expect(got?.descriptor.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    // HEAD without Docker-Content-Digest: the digest comes from a GET of the body.
    const head = await c.headManifest(repo, 'v1');
    expect(head?.digest).toBe(got?.descriptor.digest);
    expect(f.seen.slice(-2).map((s) => s.method)).toEqual(['HEAD', 'GET']);
  });

  it('refuses a manifest whose bytes do not match the digest asked for', async () => {
    const f = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest));
    await expect(client({}).getManifest({ registry: f.host, repository: 'a/b' }, 'sha256:' + '0'.repeat(64))).rejects.toThrow(
      /returned a manifest whose digest is sha256:[0-9a-f]{64}, not sha256:0000/,
    );
  });

  it('trusts the referrers API only for a 200 with the OCI index content type', async () => {
    let mode = 0;
    const f = await serve((_req, res) => {
      if (mode === 0) return json(res, 200, { manifests: [{ digest: 'sha256:1' }] }, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      if (mode === 1) return json(res, 200, { manifests: [] });
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    });
    const repo = { registry: f.host, repository: 'a/b' };
    const c = client({});
    expect(await c.referrers(repo, 'sha256:' + '0'.repeat(64))).toEqual({ supported: true, manifests: [{ digest: 'sha256:1' }] });
    mode = 1;
    expect(await c.referrers(repo, 'sha256:' + '0'.repeat(64))).toEqual({ supported: false });
    mode = 2;
    expect(await c.referrers(repo, 'sha256:' + '0'.repeat(64))).toEqual({ supported: false });
  });

  it('names the host and the network error when the registry cannot be reached', async () => {
    const f = await fake(() => {});
    await f.close();
    await expect(client({}).hasBlob({ registry: f.host, repository: 'a/b' }, 'sha256:' + '0'.repeat(64))).rejects.toThrow(
      `${f.host}/a/b: could not reach ${f.host} (ECONNREFUSED). Fix: check the name, the network, or the registry's status`,
    );
  });
});
