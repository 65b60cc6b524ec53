/** The sandbox registries (open, htpasswd, token) and the test OCI client that talks to them. */
import { startRegistry, type RegistryMode, type SandboxRegistry } from '../../sandbox/registry.js';
import {
  deleteManifest,
  getBlob,
  getManifest,
  listTags,
  OCI_INDEX,
  OCI_MANIFEST,
  pushImage,
  pushIndex,
  sha256Digest,
} from '../../sandbox/oci.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../sandbox/runner.js';
import { eventually, isAlive } from '../helpers/processes.js';

const MODES: RegistryMode[] = ['open', 'htpasswd', 'token'];
const registries: Partial<Record<RegistryMode, SandboxRegistry>> = {};
const reg = (mode: RegistryMode): SandboxRegistry => registries[mode]!;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  await Promise.all(MODES.map(async (mode) => (registries[mode] = await startRegistry(mode))));
});

afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
});

describe.each(MODES)('%s registry', (mode) => {
  it('listens on loopback only, on its own port', () => {
    expect(reg(mode).host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(reg(mode).host).not.toBe('127.0.0.1:5000');
    expect(reg(mode).url).toBe(`http://${reg(mode).host}`);
  });

  it('stores an image that reads back byte for byte', async () => {
    const image = await pushImage(reg(mode), 'demo/app', { tag: 'v1' });
    const fetched = await getManifest(reg(mode), 'demo/app', 'v1');
    expect(fetched?.digest).toBe(image.digest);
    expect(fetched?.mediaType).toBe(OCI_MANIFEST);
    const layers = image.manifest.layers as { digest: string; size: number }[];
    const layer = await getBlob(reg(mode), 'demo/app', layers[0].digest);
    expect(layer && sha256Digest(layer)).toBe(layers[0].digest);
    expect(layer?.length).toBe(layers[0].size);
    expect(await listTags(reg(mode), 'demo/app')).toContain('v1');
  });

  it('stores a BuildKit-style index with attestation manifests', async () => {
    const index = await pushIndex(reg(mode), 'demo/multi', { tag: 'latest', platforms: ['linux/amd64', 'linux/arm64/v8'], attestations: true });
    expect(index.children.filter((c) => !c.attestation).map((c) => c.platform)).toEqual(['linux/amd64', 'linux/arm64/v8']);
    const fetched = await getManifest(reg(mode), 'demo/multi', 'latest');
    expect(fetched?.mediaType).toBe(OCI_INDEX);
    const manifests = fetched!.json.manifests as { digest: string; platform: { os: string }; annotations?: Record<string, string> }[];
    expect(manifests.map((m) => m.digest)).toEqual(index.children.map((c) => c.digest));
    const attestations = manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
    expect(attestations).toHaveLength(2);
    expect(attestations.map((m) => m.annotations?.['vnd.docker.reference.digest'])).toEqual(manifests.slice(0, 2).map((m) => m.digest));
    expect(attestations.every((m) => m.platform.os === 'unknown')).toBe(true);
    for (const child of index.children) expect((await getManifest(reg(mode), 'demo/multi', child.digest))?.digest).toBe(child.digest);
  });

  it('gives the same digest for the same seed, and deletes by digest', async () => {
    const a = await pushImage(reg(mode), 'demo/seeded', { seed: 's1', tag: 'a' });
    const b = await pushImage(reg(mode), 'demo/seeded', { seed: 's1' });
    const c = await pushImage(reg(mode), 'demo/seeded', { seed: 's2' });
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest);
    expect(await deleteManifest(reg(mode), 'demo/seeded', a.digest)).toBe(true);
    expect(await getManifest(reg(mode), 'demo/seeded', a.digest)).toBeUndefined();
    expect(await listTags(reg(mode), 'demo/seeded')).not.toContain('a');
  });
});

describe('htpasswd registry', () => {
  it('refuses missing and wrong credentials with 401', async () => {
    const r = reg('htpasswd');
    expect((await fetch(`${r.url}/v2/`)).status).toBe(401);
    expect((await fetch(`${r.url}/v2/`, { headers: { authorization: basic(r.username!, 'wrong') } })).status).toBe(401);
    expect((await fetch(`${r.url}/v2/`, { headers: { authorization: basic(r.username!, r.password!) } })).status).toBe(200);
    await expect(pushImage({ url: r.url }, 'demo/anon')).rejects.toThrow(/401/);
    await expect(pushImage({ url: r.url, username: r.username, password: 'wrong' }, 'demo/anon')).rejects.toThrow(/401/);
  });
});

describe('token registry', () => {
  const challenge = async (r: SandboxRegistry): Promise<{ realm: string; service: string }> => {
    const res = await fetch(`${r.url}/v2/`);
    expect(res.status).toBe(401);
    const header = res.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(/^Bearer /);
    return { realm: /realm="([^"]+)"/.exec(header)![1], service: /service="([^"]+)"/.exec(header)![1] };
  };
  const tokenFor = async (r: SandboxRegistry, scope: string, authorization?: string): Promise<Response> => {
    const { realm, service } = await challenge(r);
    const url = `${realm}?service=${encodeURIComponent(service)}&scope=${encodeURIComponent(scope)}`;
    return fetch(url, { headers: authorization ? { authorization } : {} });
  };
  const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

  it('names its token realm by host name: go-containerregistry 0.21 (cosign 3.1) refuses a loopback IP realm', async () => {
    const { realm } = await challenge(reg('token'));
    const url = new URL(realm);
    expect(url.hostname).toBe('localhost');
    expect(url.host).not.toBe(new URL(reg('token').url).host);
  });

  it('refuses anonymous and wrong-password token requests with 401', async () => {
    const r = reg('token');
    expect((await tokenFor(r, 'repository:demo/app:pull')).status).toBe(401);
    expect((await tokenFor(r, 'repository:demo/app:pull', basic(r.username!, 'wrong'))).status).toBe(401);
    expect((await tokenFor(r, 'repository:demo/app:pull', basic('someone', r.password!))).status).toBe(401);
    await expect(pushImage({ url: r.url }, 'demo/anon')).rejects.toThrow(/401/);
  });

  it('grants exactly the scope asked for, and the registry enforces it', async () => {
    const r = reg('token');
    await pushImage(r, 'demo/scoped', { tag: 'v1' });
    const res = await tokenFor(r, 'repository:demo/scoped:pull', basic(r.username!, r.password!));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    expect(Number.isNaN(Date.parse(body.issued_at))).toBe(false);
    const claims = claimsOf(body.token);
    expect(claims.access).toEqual([{ type: 'repository', name: 'demo/scoped', actions: ['pull'] }]);
    expect(claims.sub).toBe(r.username);
    const header = JSON.parse(Buffer.from(body.token.split('.')[0], 'base64url').toString());
    expect(header.alg).toBe('ES256');
    expect(header.x5c).toHaveLength(1);

    const bearer = { authorization: `Bearer ${body.token}` };
    const accept = { accept: OCI_MANIFEST };
    expect((await fetch(`${r.url}/v2/demo/scoped/manifests/v1`, { headers: { ...bearer, ...accept } })).status).toBe(200);
    // Pull on demo/scoped is not push there, nor pull anywhere else.
    expect((await fetch(`${r.url}/v2/demo/scoped/blobs/uploads/`, { method: 'POST', headers: bearer })).status).toBe(401);
    expect((await fetch(`${r.url}/v2/demo/app/manifests/v1`, { headers: { ...bearer, ...accept } })).status).toBe(401);

    const push = await tokenFor(r, 'repository:demo/scoped:pull,push', basic(r.username!, r.password!));
    const pushToken = ((await push.json()) as { token: string }).token;
    expect(claimsOf(pushToken).access).toEqual([{ type: 'repository', name: 'demo/scoped', actions: ['pull', 'push'] }]);
    const upload = await fetch(`${r.url}/v2/demo/scoped/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${pushToken}` } });
    expect(upload.status).toBe(202);
  });

  it('counts token requests', async () => {
    const r = reg('token');
    const before = r.tokenRequests();
    await tokenFor(r, 'repository:demo/app:pull', basic(r.username!, r.password!));
    await tokenFor(r, 'repository:demo/app:pull');
    expect(r.tokenRequests()).toBe(before + 2);
  });
});

it('stop() ends the registry process and frees its port', async () => {
  const r = await startRegistry('htpasswd');
  expect(r.pid && isAlive(r.pid)).toBe(true);
  await r.stop();
  expect(isAlive(r.pid!)).toBe(false);
  await expect(fetch(`${r.url}/v2/`)).rejects.toThrow();
  await r.stop(); // a second stop is harmless
});

it('a registry does not outlive its parent, even one killed with SIGKILL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sign-registry-orphan-'));
  const script = join(dir, 'start.mts');
  writeFileSync(
    script,
    `import { startRegistry } from ${JSON.stringify(join(REPO_ROOT, 'sandbox', 'registry.ts'))};
     const r = await startRegistry('open');
     console.log(r.pid);
     setInterval(() => {}, 1000);`,
  );
  const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`the parent exited early (${code})`)));
    });
    expect(isAlive(pid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await eventually(() => !isAlive(pid), 10_000)).toBe(true);
  } finally {
    parent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
