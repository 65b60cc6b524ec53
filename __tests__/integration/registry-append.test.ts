/**
 * Lossless appends against real distribution 2.8 registries: existing entries
 * are kept byte for byte, and concurrent writers (separate clients, like
 * separate runs) all end up in the tag.
 */
import { randomBytes } from 'node:crypto';
import { startRegistry, type RegistryMode, type SandboxRegistry } from '../../sandbox/registry.js';
import { appendIndexDescriptors, appendLayers, COSIGN_SIGNATURE_ANNOTATION } from '../../src/registry/append.js';
import { RegistryClient, sha256Digest } from '../../src/registry/client.js';
import { anonymous, staticCredentials } from '../../src/registry/credentials.js';
import { MEDIA_TYPES, type Descriptor, type Repo } from '../../src/registry/types.js';
import { signatureConfig } from '../../src/formats/legacy.js';

const MODES: RegistryMode[] = ['open', 'htpasswd', 'token'];
const registries: Partial<Record<RegistryMode, SandboxRegistry>> = {};
const FAST = { attempts: 4, baseDelayMs: 20, maxDelayMs: 200, budgetMs: 10_000 };
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const WRITERS = 8;

beforeAll(async () => {
  await Promise.all(MODES.map(async (mode) => (registries[mode] = await startRegistry(mode))));
}, 60_000);
afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
});

function newClient(reg: SandboxRegistry): RegistryClient {
  const credentials = reg.username ? staticCredentials({ username: reg.username, password: reg.password }) : anonymous;
  return new RegistryClient({ credentials, retry: FAST, mask: () => {} });
}


function signatureLayer(): { descriptor: Descriptor; blob: Buffer } {
  const blob = Buffer.from(`{"critical":{"nonce":"${randomBytes(8).toString('hex')}"},"optional":null}`);
  return {
    blob,
    descriptor: {
      mediaType: SIMPLE_SIGNING,
      digest: sha256Digest(blob),
      size: blob.length,
      annotations: { [COSIGN_SIGNATURE_ANNOTATION]: randomBytes(48).toString('base64') },
    },
  };
}

function layersOf(body: Buffer): Array<Descriptor & { annotations: Record<string, string> }> {
  return (JSON.parse(body.toString()) as { layers: Array<Descriptor & { annotations: Record<string, string> }> }).layers;
}

describe.each(MODES)('%s registry', (mode) => {
  const reg = (): SandboxRegistry => registries[mode]!;
  const repoFor = (name: string): Repo => ({ registry: reg().host, repository: `append/${name}-${randomBytes(4).toString('hex')}` });

  it('keeps an existing layer byte for byte (Go escapes, key order) and appends ours once', async () => {
    const client = newClient(reg());
    const repo = repoFor('sig');
    const tag = `sha256-${randomBytes(32).toString('hex')}.sig`;
    // A layer as cosign (Go's encoder) writes it: \u003c escapes, its own key order.
    const oldBlob = Buffer.from('{"critical":{},"optional":null}');
    await client.pushBlob(repo, oldBlob);
    const oldLayerRaw =
      `{"mediaType":"${SIMPLE_SIGNING}","size":${oldBlob.length},"digest":"${sha256Digest(oldBlob)}",` +
      `"annotations":{"${COSIGN_SIGNATURE_ANNOTATION}":"MEUCIQ==","dev.sigstore.cosign/certificate":"\\u003cPEM\\u003e \\u0026 more\\n"}}`;
    const oldConfig = await client.pushBlob(repo, signatureConfig([JSON.parse(oldLayerRaw) as Descriptor]), MEDIA_TYPES.ociConfig);
    await client.putManifest(
      repo,
      tag,
      `{"schemaVersion":2,"mediaType":"${MEDIA_TYPES.ociManifest}","config":${JSON.stringify(oldConfig)},"layers":[${oldLayerRaw}]}`,
      MEDIA_TYPES.ociManifest,
    );

    const ours = signatureLayer();
    const result = await appendLayers(client, repo, tag, [ours], signatureConfig);
    expect(result.attempts).toBe(1);
    const written = (await client.getManifest(repo, tag))!;
    expect(written.descriptor.digest).toBe(result.descriptor.digest);
    const text = written.body.toString();
    expect(text).toContain(`"layers":[${oldLayerRaw},${JSON.stringify(ours.descriptor)}]}`);
    expect(text.startsWith(`{"schemaVersion":2,"mediaType":"${MEDIA_TYPES.ociManifest}","config":{`)).toBe(true);
    // The config follows the layers, and its blob is there.
    const config = (written.json as { config: Descriptor }).config;
    const configJson = JSON.parse((await client.getBlob(repo, config.digest)).toString()) as { rootfs: { diff_ids: string[] } };
    expect(configJson.rootfs.diff_ids).toEqual([sha256Digest(oldBlob), ours.descriptor.digest]);
    expect((await client.getBlob(repo, ours.descriptor.digest)).equals(ours.blob)).toBe(true);

    // Appending the same signature again writes nothing.
    const again = await appendLayers(newClient(reg()), repo, tag, [ours], signatureConfig);
    expect(again).toEqual({ descriptor: written.descriptor, attempts: 0, count: 2, manifest: expect.objectContaining({ body: written.body }) });
  });

  it(`loses no signature when ${WRITERS} writers append to one tag at once`, async () => {
    const repo = repoFor('race');
    const tag = `sha256-${randomBytes(32).toString('hex')}.sig`;
    const ours = Array.from({ length: WRITERS }, signatureLayer);
    const results = await Promise.all(ours.map((layer) => appendLayers(newClient(reg()), repo, tag, [layer], signatureConfig)));
    const final = (await newClient(reg()).getManifest(repo, tag))!;
    const ids = layersOf(final.body).map((l) => `${l.digest}|${l.annotations[COSIGN_SIGNATURE_ANNOTATION]}`);
    expect(new Set(ids)).toEqual(new Set(ours.map((l) => `${l.descriptor.digest}|${l.descriptor.annotations![COSIGN_SIGNATURE_ANNOTATION]}`)));
    expect(ids).toHaveLength(WRITERS);
    expect(results.every((r) => r.attempts >= 1)).toBe(true);
  }, 60_000);

  it(`keeps every referrer when ${WRITERS} writers append to the referrers tag at once`, async () => {
    const repo = repoFor('referrers');
    const tag = `sha256-${randomBytes(32).toString('hex')}`;
    const setup = newClient(reg());
    const empty = await setup.pushBlob(repo, Buffer.from('{}'), MEDIA_TYPES.ociEmpty);
    // distribution checks that an index's manifests exist: push each referrer first.
    const referrers = await Promise.all(
      Array.from({ length: WRITERS }, async (_, i) => {
        const layer = await setup.pushBlob(repo, Buffer.from(`bundle ${i} ${randomBytes(4).toString('hex')}`), 'application/vnd.dev.sigstore.bundle.v0.3+json');
        const body = JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.ociManifest,
          artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
          config: empty,
          layers: [layer],
        });
        const d = await setup.putManifest(repo, sha256Digest(body), body, MEDIA_TYPES.ociManifest);
        return { ...d, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json', annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', n: String(i) } };
      }),
    );
    const results = await Promise.all(referrers.map((d) => appendIndexDescriptors(newClient(reg()), repo, tag, [d])));
    // Each writer reports how many referrers its read-back listed: at least itself, at most all.
    for (const r of results) expect(r.count).toBeGreaterThanOrEqual(1);
    expect(Math.max(...results.map((r) => r.count))).toBe(WRITERS);
    const index = (await newClient(reg()).getManifest(repo, tag))!;
    expect(index.descriptor.mediaType).toBe(MEDIA_TYPES.ociIndex);
    const manifests = (index.json as { manifests: Descriptor[] }).manifests;
    expect(manifests).toHaveLength(WRITERS);
    expect(new Set(manifests.map((m) => JSON.stringify(m)))).toEqual(new Set(referrers.map((d) => JSON.stringify(d))));
  }, 60_000);
});
