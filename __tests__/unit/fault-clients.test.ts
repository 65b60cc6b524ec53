/**
 * The clients of the action under faults, with the sandbox's fault proxy in
 * front of the sandbox's Rekor, Fulcio and OIDC issuer, and small fake
 * registries: retries that end in success, Rekor's 409 after an entry that
 * landed, deadlines that stop retries (the certificate's expiry for Rekor, the
 * token's for Fulcio), and registry reads and writes that retry only what is
 * safe to retry.
 */
import crypto from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../../sandbox/fault-proxy.js';
import { startOidc, type SandboxOidc } from '../../sandbox/oidc.js';
import { startSigstore, type SandboxSigstore } from '../../sandbox/sigstore/index.js';
import { ActionError } from '../../src/errors.js';
import { EphemeralSigner } from '../../src/identity/certificate.js';
import { requestIdToken } from '../../src/identity/token.js';
import { RegistryClient } from '../../src/registry/client.js';
import { anonymous } from '../../src/registry/credentials.js';
import { runHelper } from '../../src/registry/docker-config.js';
import { TransientRegistryError } from '../../src/registry/errors.js';
import { hashedRekordProposal, RekorClient } from '../../src/transparency/rekor.js';

const QUICK = { attempts: 6, baseDelayMs: 20, maxDelayMs: 100, budgetMs: 10_000 };

let oidc: SandboxOidc;
let sigstore: SandboxSigstore;
let rekorProxy: FaultProxy;
let fulcioProxy: FaultProxy;
let oidcProxy: FaultProxy;
let signer: EphemeralSigner;

beforeAll(async () => {
  oidc = await startOidc();
  sigstore = await startSigstore({ oidc });
  [rekorProxy, fulcioProxy, oidcProxy] = await Promise.all([startFaultProxy(sigstore.rekorUrl), startFaultProxy(sigstore.fulcioUrl), startFaultProxy(oidc.url)]);
  const { requestUrl, requestToken } = oidc.defaultRequest;
  const viaProxy = `${oidcProxy.url}${new URL(requestUrl).pathname}${new URL(requestUrl).search}`;
  signer = new EphemeralSigner(fulcioProxy.url, () => requestIdToken(viaProxy, requestToken));
}, 60_000);
afterEach(() =>
  [rekorProxy, fulcioProxy, oidcProxy].forEach((p) => {
    p.clear();
    p.log.length = 0;
  }),
);
afterAll(async () => {
  await Promise.all([rekorProxy, fulcioProxy, oidcProxy].map((p) => p?.stop()));
  await sigstore?.stop();
  await oidc?.stop();
});

async function treeSize(): Promise<number> {
  return ((await (await fetch(`${sigstore.rekorUrl}/api/v1/log`)).json()) as { treeSize: number }).treeSize;
}

/** A fresh, valid hashedrekord proposal signed with the run's certificate. */
async function proposal(): Promise<object> {
  const cert = await signer.certificate();
  const payload = crypto.randomBytes(32);
  const hash = crypto.createHash('sha256').update(payload).digest('hex');
  return hashedRekordProposal(hash, signer.sign(payload).toString('base64'), cert.leafPem);
}

const ENTRIES = /^\/api\/v1\/log\/entries$/;

describe('Fulcio and the OIDC token through faults', () => {
  it('gets the token and the certificate through 503s and a slow Fulcio', async () => {
    const tokenDown = oidcProxy.inject({ times: 1, fault: { kind: 'status', status: 503, headers: { 'retry-after': '0' } } });
    const fulcioDown = fulcioProxy.inject({ method: 'POST', times: 2, fault: { kind: 'status', status: 503, body: '{"code":503}', headers: { 'retry-after': '0' } } });
    fulcioProxy.inject({ fault: { kind: 'delay', ms: 200 } });
    const fresh = new EphemeralSigner(fulcioProxy.url, () => requestIdToken(`${oidcProxy.url}${new URL(oidc.defaultRequest.requestUrl).pathname}${new URL(oidc.defaultRequest.requestUrl).search}`, oidc.defaultRequest.requestToken));
    const cert = await fresh.certificate();
    expect(cert.identity).toMatch(/^https:\/\/github\.com\//);
    expect([tokenDown.hits(), fulcioDown.hits()]).toEqual([1, 2]);
    expect(fulcioProxy.log.filter((e) => e.method === 'POST').map((e) => e.status)).toEqual([503, 503, 200]);
  });

  it('stops waiting for a hung Fulcio when the identity token expires, with an ActionError', async () => {
    fulcioProxy.inject({ fault: { kind: 'hang' } });
    const exp = Math.floor(Date.now() / 1000) + 2;
    const doomed = new EphemeralSigner(fulcioProxy.url, async () => ({ jwt: oidc.signToken({ sub: 'x', exp }), claims: { sub: 'x', exp } }));
    const started = Date.now();
    const err = await doomed.certificate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(String(err)).toMatch(/could not get a signing certificate from Fulcio .*timed out.*stopped at the deadline/);
    expect(Date.now() - started).toBeLessThan(3500);
  });
});

describe('Rekor through faults', () => {
  it('logs once through a 503 and a 429 with Retry-After', async () => {
    const before = await treeSize();
    rekorProxy.inject({ method: 'POST', path: ENTRIES, times: 1, fault: { kind: 'status', status: 503, body: '{"code":503}' } });
    rekorProxy.inject({ method: 'POST', path: ENTRIES, times: 1, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{"code":429}' } });
    const rekor = new RekorClient(rekorProxy.url);
    const p = await proposal();
    const started = Date.now();
    const entry = await rekor.createEntry(p);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(entry.logIndex).toBe(before);
    expect(await treeSize()).toBe(before + 1);
  });

  it('takes the existing entry (409) when an upload whose answer was lost had landed', async () => {
    const before = await treeSize();
    const lost = rekorProxy.inject({ method: 'POST', path: ENTRIES, times: 1, fault: { kind: 'reset', when: 'after-upstream' } });
    const entry = await new RekorClient(rekorProxy.url).createEntry(await proposal());
    expect(lost.hits()).toBe(1);
    expect(rekorProxy.log.filter((e) => e.method === 'POST').map((e) => e.status)).toEqual([undefined, 409]);
    expect(entry.logIndex).toBe(before);
    expect(entry.signedEntryTimestamp).toBeTruthy();
    expect(await treeSize()).toBe(before + 1);
  });

  it('finds the existing entry by the UUID in a 409 that has no Location', async () => {
    const p = await proposal();
    const rekor = new RekorClient(rekorProxy.url);
    const first = await rekor.createEntry(p);
    rekorProxy.inject({ method: 'POST', path: ENTRIES, fault: { kind: 'rewrite', headers: ({ location: _gone, ...rest }) => rest } });
    const again = await rekor.createEntry(p);
    expect(rekorProxy.log.at(-2)).toMatchObject({ method: 'POST', status: 409 });
    expect([again.logIndex, again.uuid]).toEqual([first.logIndex, first.uuid]);
  });

  it("stops retrying a failing log at the certificate's expiry, and says so", async () => {
    // Retry-After: 1 leaves room for two tries before the expiry, far fewer than the policy's attempts.
    rekorProxy.inject({ method: 'POST', path: ENTRIES, fault: { kind: 'status', status: 503, headers: { 'retry-after': '1' }, body: '{"code":503}' } });
    const p = await proposal();
    const expiry = Date.now() + 2500;
    const err = await new RekorClient(rekorProxy.url).createEntry(p, 'img', { deadline: expiry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(String(err)).toMatch(/HTTP 503 \(after \d+ attempts\).*stopped retrying because the signing certificate expires at/);
    expect(Date.now()).toBeLessThan(expiry + 1000);
  });

  it('does not wait on a hung log past the deadline', async () => {
    rekorProxy.inject({ method: 'POST', path: ENTRIES, fault: { kind: 'hang' } });
    const p = await proposal();
    const expiry = Date.now() + 800;
    const err = await new RekorClient(rekorProxy.url).createEntry(p, 'img', { deadline: expiry }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/Rekor .*timed out.*signing certificate expires at/);
    expect(Date.now()).toBeLessThan(expiry + 1000);
  });
});

/** A scripted registry: `script(method, path, n)` answers the n-th request of that method. */
async function fakeRegistry(script: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): Promise<{ host: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      script(req, res, seen.filter((s) => s.startsWith(`${req.method} `)).length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('registry client under faults', () => {
  const repo = (host: string) => ({ registry: host, repository: 'acme/app' });

  it('times out on a hung registry with a message that names it', async () => {
    const hung = await fakeRegistry(() => undefined);
    try {
      const client = new RegistryClient({ credentials: anonymous, timeoutMs: 200, retry: { ...QUICK, attempts: 2 }, mask: () => undefined });
      const err = await client.headManifest(repo(hung.host), 'latest').catch((e: unknown) => e);
      expect(String(err)).toMatch(new RegExp(`could not reach ${hung.host} \\(timed out\\)`));
    } finally {
      await hung.close();
    }
  });

  it('retries a 404 for a blob it just pushed (not yet visible), and not for one it did not', async () => {
    const bytes = Buffer.from('payload');
    const digest = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
    const reg = await fakeRegistry((req, res, n) => {
      if (req.method === 'HEAD') res.writeHead(404).end();
      else if (req.method === 'POST') res.writeHead(202, { location: '/v2/acme/app/blobs/uploads/1' }).end();
      else if (req.method === 'PUT') res.writeHead(201).end();
      else if (req.url?.includes(digest) && n > 2) res.writeHead(200).end(bytes);
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
    });
    try {
      const client = new RegistryClient({ credentials: anonymous, retry: QUICK, mask: () => undefined });
      await client.pushBlob(repo(reg.host), bytes);
      expect((await client.getBlob(repo(reg.host), digest)).toString()).toBe('payload');
      expect(reg.seen.filter((s) => s.startsWith('GET')).length).toBe(3);
      const other = `sha256:${'1'.repeat(64)}`;
      await expect(client.getBlob(repo(reg.host), other)).rejects.toThrow(/is not in the repository/);
      expect(reg.seen.filter((s) => s === `GET /v2/acme/app/blobs/${other}`)).toHaveLength(1);
    } finally {
      await reg.close();
    }
  });

  it('writes a tag once when asked: a 503 comes back as a TransientRegistryError carrying Retry-After', async () => {
    const reg = await fakeRegistry((_req, res) => res.writeHead(503, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE"}]}'));
    try {
      const client = new RegistryClient({ credentials: anonymous, retry: QUICK, mask: () => undefined });
      const err = await client.putManifest(repo(reg.host), 'tag', '{}', 'application/vnd.oci.image.manifest.v1+json', { once: true, attempt: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientRegistryError);
      expect((err as TransientRegistryError).retryAfterMs).toBe(7000);
      expect(String(err)).toMatch(/answered HTTP 503 \(after 3 attempts\) when we tried to push the manifest/);
      expect(reg.seen).toEqual(['PUT /v2/acme/app/manifests/tag']);
    } finally {
      await reg.close();
    }
  });
});

describe('a Docker credential helper that never answers', () => {
  it('is stopped after its timeout instead of hanging the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fault-helper-'));
    const helper = join(dir, 'docker-credential-stuck');
    writeFileSync(helper, '#!/bin/sh\nsleep 30\n');
    chmodSync(helper, 0o755);
    try {
      const started = Date.now();
      await expect(runHelper(helper, 'registry.example', 300)).rejects.toThrow(/did not answer within 0\.3 s/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
