/**
 * RegistryClient against real distribution 2.8 registries from the sandbox, in
 * its three flavours: open, htpasswd (Basic) and token (Bearer + token server).
 */
import { randomBytes } from 'node:crypto';
import { startRegistry, type RegistryMode, type SandboxRegistry } from '../../sandbox/registry.js';
import { ActionError } from '../../src/errors.js';
import { RegistryClient, sha256Digest } from '../../src/registry/client.js';
import { anonymous, staticCredentials, type CredentialResolver } from '../../src/registry/credentials.js';
import { MEDIA_TYPES, type Repo } from '../../src/registry/types.js';

const MODES: RegistryMode[] = ['open', 'htpasswd', 'token'];
const registries: Partial<Record<RegistryMode, SandboxRegistry>> = {};
const FAST = { attempts: 4, baseDelayMs: 20, maxDelayMs: 200, budgetMs: 10_000 };

beforeAll(async () => {
  await Promise.all(MODES.map(async (mode) => (registries[mode] = await startRegistry(mode))));
}, 60_000);
afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
});

function credentialsFor(reg: SandboxRegistry): CredentialResolver {
  return reg.username ? staticCredentials({ username: reg.username, password: reg.password, source: 'sandbox credentials' }) : anonymous;
}
function newClient(reg: SandboxRegistry, credentials = credentialsFor(reg)): RegistryClient {
  return new RegistryClient({ credentials, retry: FAST, mask: () => {} });
}
const uniqueRepo = (reg: SandboxRegistry, name: string): Repo => ({ registry: reg.host, repository: `test/${name}-${randomBytes(4).toString('hex')}` });

/** A small OCI image: one layer, one config; returns the manifest body. */
async function pushImage(client: RegistryClient, repo: Repo, tag: string): Promise<{ body: string; layer: Buffer }> {
  const layer = randomBytes(64);
  const layerDesc = await client.pushBlob(repo, layer, 'application/vnd.oci.image.layer.v1.tar');
  const config = await client.pushBlob(repo, Buffer.from('{"architecture":"amd64","os":"linux"}'), MEDIA_TYPES.ociConfig);
  const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [layerDesc] });
  await client.putManifest(repo, tag, body, MEDIA_TYPES.ociManifest);
  return { body, layer };
}

describe.each(MODES)('%s registry', (mode) => {
  const reg = (): SandboxRegistry => registries[mode]!;

  it('pushes blobs and a manifest and reads them back by tag and digest', async () => {
    const client = newClient(reg());
    const repo = uniqueRepo(reg(), 'roundtrip');
    const { body, layer } = await pushImage(client, repo, 'v1');
    const digest = sha256Digest(body);

    expect(await client.headManifest(repo, 'v1')).toEqual({ mediaType: MEDIA_TYPES.ociManifest, digest, size: Buffer.byteLength(body) });
    const byDigest = await client.getManifest(repo, digest);
    expect(byDigest?.body.toString()).toBe(body);
    expect(byDigest?.descriptor).toEqual({ mediaType: MEDIA_TYPES.ociManifest, digest, size: Buffer.byteLength(body) });
    expect((await client.getBlob(repo, sha256Digest(layer))).equals(layer)).toBe(true);
    expect(await client.hasBlob(repo, sha256Digest(layer))).toBe(true);
    expect(await client.headManifest(repo, 'missing')).toBeUndefined();
    expect(await client.getManifest(repo, sha256Digest('nothing'))).toBeUndefined();
    // distribution 2.8 has no referrers API: the tag schema must be used.
    expect(await client.referrers(repo, digest)).toEqual({ supported: false });
  });

  it('skips the upload of a blob the repository has: one HEAD, and none for a blob this run already stored', async () => {
    const repo = uniqueRepo(reg(), 'skip');
    const blob = randomBytes(32);
    await newClient(reg()).pushBlob(repo, blob);
    const client = newClient(reg());
    await client.pushBlob(repo, Buffer.from('warm up the token'));
    let before = client.requestCount;
    expect(await client.pushBlob(repo, blob)).toEqual({ mediaType: MEDIA_TYPES.octetStream, digest: sha256Digest(blob), size: 32 });
    expect(client.requestCount - before).toBe(1);
    before = client.requestCount;
    await client.pushBlob(repo, blob);
    expect(client.requestCount - before).toBe(0);
  });

  it('uploads identical bytes from several clients at once', async () => {
    const repo = uniqueRepo(reg(), 'same-bytes');
    const blob = randomBytes(128);
    const got = await Promise.all(Array.from({ length: 6 }, () => newClient(reg()).pushBlob(repo, blob)));
    expect(new Set(got.map((d) => d.digest))).toEqual(new Set([sha256Digest(blob)]));
    expect((await newClient(reg()).getBlob(repo, sha256Digest(blob))).equals(blob)).toBe(true);
  });

  if (mode !== 'open') {
    it('refuses a wrong password with a message naming the source, never the password', async () => {
      const wrong = `not-the-password-${randomBytes(6).toString('hex')}`;
      const client = newClient(reg(), staticCredentials({ username: reg().username, password: wrong, source: 'registry-username/registry-password inputs' }));
      const repo = uniqueRepo(reg(), 'denied');
      const err = (await client.pushBlob(repo, randomBytes(8)).catch((e: unknown) => e)) as ActionError;
      expect(err).toBeInstanceOf(ActionError);
      expect(err.message).toContain(`${reg().host}/${repo.repository}: ${reg().host} refused to let us write to ${repo.repository} (HTTP 401`);
      expect(err.message).toContain('with the credentials from registry-username/registry-password inputs');
      expect(err.message).toMatch(/Fix: log in first with a `docker\/login-action` step .* or set the `registry-username` and `registry-password` inputs/);
      expect(err.message).not.toContain(wrong);
      expect(err.message).not.toContain(Buffer.from(`${reg().username}:${wrong}`).toString('base64'));
      if (mode === 'token') expect(err.message).toMatch(/the token server http:\/\/localhost:\d+\/token answered HTTP 401/);
    });

    it('says "without credentials" when none were found', async () => {
      const err = (await newClient(reg(), anonymous).getManifest(uniqueRepo(reg(), 'anon'), 'v1').catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/refused to let us read .* without credentials \(none found for 127\.0\.0\.1:\d+/);
    });
  }
});

describe('token registry', () => {
  it('fetches one token per repository for the run', async () => {
    const reg = registries.token!;
    const client = newClient(reg);
    const a = uniqueRepo(reg, 'token-a');
    const b = uniqueRepo(reg, 'token-b');
    const before = reg.tokenRequests();
    await pushImage(client, a, 'v1');
    await client.getManifest(a, 'v1');
    await client.headManifest(a, 'v1');
    expect(reg.tokenRequests() - before).toBe(1);
    await pushImage(client, b, 'v1');
    await client.hasBlob(a, sha256Digest('x'));
    expect(reg.tokenRequests() - before).toBe(2);
  });
});
