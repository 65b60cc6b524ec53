/**
 * End to end, bounds: a `.sig` tag at the 1000 layers cosign reads at most, a
 * registry that answers a manifest or an index with a body that never ends.
 * The run must stay within bounded memory and time, and say what it refused.
 * (Per-request timeouts on a hung server: __tests__/unit/fault-http.test.ts.)
 *
 */
import { startFaultProxy, registryPath, type FaultProxy } from '../../sandbox/fault-proxy.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { getManifest, listTags, pushBlob, pushImage, pushIndex, putManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor } from '../../sandbox/runner.js';
import { readAndCheckLegacy, type TrustedRootJson } from '../helpers/legacy-checks.js';

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

let sandbox: Sandbox;
let open: RegistryAccess & { host: string };
let proxy: FaultProxy;
let trustedRoot: TrustedRootJson;

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open'] });
  open = sandbox.registries.open!;
  trustedRoot = sandbox.sigstore!.trustedRoot as TrustedRootJson;
  proxy = await startFaultProxy(open.url);
}, 60_000);
afterEach(() => proxy.clear());
afterAll(async () => {
  await proxy?.stop();
  cleanupRuns();
  await sandbox?.stop();
});

const sign = (inputs: Record<string, string>) => runAction({ inputs: { ...sigstoreInputsFor(sandbox), ...inputs }, env: runnerEnvFor(sandbox) });
const sigTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;
const errorLine = (stdout: string): string => stdout.split('\n').filter((l) => l.startsWith('::error')).join('\n');

async function rekorTreeSize(): Promise<number> {
  const res = await fetch(`${sandbox.sigstore!.rekorUrl}/api/v1/log`);
  return ((await res.json()) as { treeSize: number }).treeSize;
}

/** A `.sig` tag holding `count` (unverifiable) signature layers, as if written by many earlier runs. */
async function crowdedSig(repo: string, digest: string, count: number): Promise<string> {
  const payload = await pushBlob(open, repo, Buffer.from('{"critical":{}}'));
  const config = await pushBlob(open, repo, Buffer.from('{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'));
  const layers = Array.from({ length: count }, (_, i) => ({
    mediaType: SIMPLE_SIGNING,
    ...payload,
    annotations: { 'dev.cosignproject.cosign/signature': `earlier-signature-${i}` },
  }));
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers };
  return (await putManifest(open, repo, sigTag(digest), manifest, OCI_MANIFEST)).digest;
}

describe('a .sig tag with many layers', () => {
  it('refuses to add a 1001st layer (cosign would then reject every signature in the tag) and leaves the tag as it was', async () => {
    const img = await pushImage(open, 'acme/crowded');
    const before = await crowdedSig('acme/crowded', img.digest, 1000);
    const started = Date.now();
    const run = await sign({ images: `${open.host}/acme/crowded@${img.digest}` });
    expect(run.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    const error = errorLine(run.stdout);
    expect(error).not.toMatch(/unexpected error/);
    expect(error).toContain(`${open.host}/acme/crowded:${sigTag(img.digest)} already holds 1000 signatures; one more would pass 1000, the most cosign reads`);
    expect(error).toMatch(/Fix: remove signatures that are no longer needed/);
    expect((await getManifest(open, 'acme/crowded', sigTag(img.digest)))!.digest).toBe(before);
  });

  it('adds the 1000th layer, and the self-check finds and verifies it among the others', async () => {
    const img = await pushImage(open, 'acme/nearly-full');
    await crowdedSig('acme/nearly-full', img.digest, 999);
    const run = await sign({ images: `${open.host}/acme/nearly-full@${img.digest}` });
    expect(errorLine(run.stdout)).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.verified).toBe('true');
    const sig = await getManifest(open, 'acme/nearly-full', sigTag(img.digest));
    const layers = sig!.json.layers as { annotations: Record<string, string> }[];
    expect(layers).toHaveLength(1000);
    expect(layers[999].annotations['dev.sigstore.cosign/bundle']).toBeTruthy();
  }, 60_000);
});

describe('answers that never end', () => {
  it('stops reading a .sig manifest past 4 MiB and says so', async () => {
    const img = await pushImage(open, 'acme/endless-sig');
    const endless = proxy.inject({ method: 'GET', path: registryPath('manifests', 'acme/endless-sig', '[^/?]+\\.sig'), fault: { kind: 'endless', contentType: OCI_MANIFEST } });
    const started = Date.now();
    const run = await sign({ images: `${proxy.host}/acme/endless-sig@${img.digest}` });
    expect(run.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(endless.hits()).toBeGreaterThan(0);
    const error = errorLine(run.stdout);
    expect(error).not.toMatch(/unexpected error/);
    expect(error).toMatch(/manifests\/sha256-[0-9a-f]{64}\.sig is larger than 4194304 bytes; refusing to read it\. Fix: /);
    expect(await listTags(open, 'acme/endless-sig')).toEqual([]);
  });

  it('stops reading an index past 4 MiB when expanding it, before anything is logged or written', async () => {
    const idx = await pushIndex(open, 'acme/endless-index', { platforms: ['linux/amd64', 'linux/arm64'] });
    const endless = proxy.inject({ method: 'GET', path: registryPath('manifests', 'acme/endless-index', idx.digest), fault: { kind: 'endless', contentType: 'application/vnd.oci.image.index.v1+json' } });
    const size = await rekorTreeSize();
    const run = await sign({ images: `${proxy.host}/acme/endless-index@${idx.digest}`, recursive: 'platforms' });
    expect(run.code).not.toBe(0);
    expect(endless.hits()).toBeGreaterThan(0);
    expect(errorLine(run.stdout)).toMatch(/is larger than 4194304 bytes; refusing to read it\. Fix: /);
    expect(await rekorTreeSize()).toBe(size);
    expect((await listTags(open, 'acme/endless-index')).filter((t) => t.endsWith('.sig'))).toEqual([]);
  });

  it('signs through the same proxy when it behaves (the faults, not the proxy, made the runs above fail)', async () => {
    const img = await pushImage(open, 'acme/endless-control');
    const run = await sign({ images: `${proxy.host}/acme/endless-control@${img.digest}` });
    expect(run.code).toBe(0);
    expect((await readAndCheckLegacy(open, 'acme/endless-control', img.digest, `${proxy.host}/acme/endless-control`, trustedRoot)).signatures).toHaveLength(1);
  });
});
