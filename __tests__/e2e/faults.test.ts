/**
 * End to end under faults: dist/index.js with the sandbox's fault proxy between
 * it and the registry, and in front of Fulcio and Rekor. Each test injects
 * faults, runs the action, checks that every fault was met (so the test proves
 * something), and that the signatures in the registry verify independently
 * (__tests__/helpers/*-checks.ts) — or, past the retry budget, that the run
 * fails with a clear message and keeps every signature written earlier.
 *
 */
import { startFaultProxy, registryPath, type FaultProxy } from '../../sandbox/fault-proxy.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor } from '../../sandbox/runner.js';
import { checkBundleReferrers, fallbackIndex } from '../helpers/bundle-checks.js';
import { readAndCheckLegacy, type TrustedRootJson } from '../helpers/legacy-checks.js';

const UNAVAILABLE = JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'service unavailable' }] });
const TOO_MANY = JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] });

let sandbox: Sandbox;
let open: RegistryAccess & { host: string };
let registry: FaultProxy;
let fulcio: FaultProxy;
let rekor: FaultProxy;
let trustedRoot: TrustedRootJson;

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open'] });
  open = sandbox.registries.open!;
  trustedRoot = sandbox.sigstore!.trustedRoot as TrustedRootJson;
  [registry, fulcio, rekor] = await Promise.all([
    startFaultProxy(open.url),
    startFaultProxy(sandbox.sigstore!.fulcioUrl),
    startFaultProxy(sandbox.sigstore!.rekorUrl),
  ]);
}, 60_000);
afterEach(() => [registry, fulcio, rekor].forEach((p) => p.clear()));
afterAll(async () => {
  await Promise.all([registry, fulcio, rekor].map((p) => p?.stop()));
  cleanupRuns();
  await sandbox?.stop();
});

/** Signs through the proxies: the registry as `registry.host`, Fulcio and Rekor behind theirs. */
const sign = (inputs: Record<string, string>) =>
  runAction({
    inputs: { ...sigstoreInputsFor(sandbox), 'fulcio-url': fulcio.url, 'rekor-url': rekor.url, ...inputs },
    env: runnerEnvFor(sandbox),
  });

async function rekorTreeSize(): Promise<number> {
  const res = await fetch(`${sandbox.sigstore!.rekorUrl}/api/v1/log`);
  return ((await res.json()) as { treeSize: number }).treeSize;
}

/** ms between a faulted exchange and the next request the proxy saw. */
function pauseAfter(proxy: FaultProxy, status: number): number {
  const i = proxy.log.findIndex((e) => e.status === status);
  expect(i).toBeGreaterThanOrEqual(0);
  expect(proxy.log.length).toBeGreaterThan(i + 1);
  return proxy.log[i + 1].at - proxy.log[i].at;
}

const errorLines = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith('::error'));

describe('signing through faults', () => {
  it('rides out registry 503s, a 429 with Retry-After, a reset mid-upload, not-yet-visible manifests and blobs, and slow answers', async () => {
    const img = await pushImage(open, 'acme/flaky');
    const rules = {
      manifestUnknown: registry.inject({ method: 'HEAD', path: registryPath('manifests', 'acme/flaky', img.digest), times: 2, fault: { kind: 'status', status: 404, body: JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }) } }),
      throttled: registry.inject({ method: 'PUT', path: registryPath('uploads'), times: 1, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: TOO_MANY } }),
      reset: registry.inject({ method: 'PUT', path: registryPath('uploads'), times: 1, fault: { kind: 'reset', when: 'mid-request' } }),
      blobUnknown: registry.inject({ method: 'PUT', path: registryPath('manifests', 'acme/flaky', 'sha256-[^/?]+\\.sig'), times: 1, fault: { kind: 'status', status: 400, body: JSON.stringify({ errors: [{ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry' }] }) } }),
      unavailable: registry.inject({ method: 'PUT', path: registryPath('manifests'), times: 2, fault: { kind: 'status', status: 503, body: UNAVAILABLE } }),
      blobNotYet: registry.inject({ method: 'GET', path: registryPath('blobs'), times: 1, fault: { kind: 'status', status: 404, body: JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] }) } }),
      slow: registry.inject({ method: ['HEAD', 'GET'], fault: { kind: 'delay', ms: 100 } }),
    };
    const run = await sign({ images: `${registry.host}/acme/flaky@${img.digest}` });
    expect(run.stdout).not.toMatch(/unexpected error/);
    expect(errorLines(run.stdout)).toEqual([]);
    expect(run.code).toBe(0);
    for (const [name, rule] of Object.entries(rules)) expect([name, rule.hits() > 0]).toEqual([name, true]);
    // Retry-After: 1 was waited for, not the sub-second backoff.
    expect(pauseAfter(registry, 429)).toBeGreaterThanOrEqual(950);
    expect(run.outputs.verified).toBe('true');
    const { signatures } = await readAndCheckLegacy(open, 'acme/flaky', img.digest, `${registry.host}/acme/flaky`, trustedRoot);
    expect(signatures.map((s) => s.logIndex)).toEqual([Number(run.outputs['rekor-log-index'])]);
  });

  it('rides out Fulcio and Rekor 5xx, 429 with Retry-After and slow answers, and takes the existing entry when a retried upload had landed', async () => {
    const img = await pushImage(open, 'acme/sigstore-flaky');
    const before = await rekorTreeSize();
    const entries = /^\/api\/v1\/log\/entries$/;
    const rules = {
      fulcio503: fulcio.inject({ method: 'POST', times: 2, fault: { kind: 'status', status: 503, body: '{"code":503,"message":"unavailable"}' } }),
      fulcio429: fulcio.inject({ method: 'POST', times: 1, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{"code":429,"message":"rate limited"}' } }),
      fulcioSlow: fulcio.inject({ fault: { kind: 'delay', ms: 300 } }),
      rekor503: rekor.inject({ method: 'POST', path: entries, times: 1, fault: { kind: 'status', status: 503, body: '{"code":503,"message":"unavailable"}' } }),
      rekor429: rekor.inject({ method: 'POST', path: entries, times: 1, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{"code":429,"message":"rate limited"}' } }),
      // The entry is logged, but the answer never comes back: the retry meets 409.
      landedButLost: rekor.inject({ method: 'POST', path: entries, times: 1, fault: { kind: 'reset', when: 'after-upstream' } }),
      rekorSlow: rekor.inject({ method: 'GET', fault: { kind: 'delay', ms: 300 } }),
    };
    const run = await sign({ images: `${open.host}/acme/sigstore-flaky@${img.digest}` });
    expect(run.stdout).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    for (const [name, rule] of Object.entries(rules)) expect([name, rule.hits() > 0]).toEqual([name, true]);
    expect(pauseAfter(fulcio, 429)).toBeGreaterThanOrEqual(950);
    expect(pauseAfter(rekor, 429)).toBeGreaterThanOrEqual(950);
    // One entry in the log, fetched after the 409 rather than logged twice.
    expect(rekor.log.some((e) => e.method === 'POST' && e.status === 409)).toBe(true);
    expect(await rekorTreeSize()).toBe(before + 1);
    const { signatures } = await readAndCheckLegacy(open, 'acme/sigstore-flaky', img.digest, `${open.host}/acme/sigstore-flaky`, trustedRoot);
    expect(signatures.map((s) => s.logIndex)).toEqual([before]);
    expect(run.outputs.verified).toBe('true');
  });

  it('past the retries, fails naming the image, the status and the fix, and keeps every signature written before', async () => {
    const kept = await pushImage(open, 'acme/kept');
    const broken = await pushImage(open, 'acme/broken');
    const first = await sign({ images: `${registry.host}/acme/broken@${broken.digest}` });
    expect(first.code).toBe(0);
    const earlier = Number(first.outputs['rekor-log-index']);

    // Every write of the broken repository's .sig tag fails from now on; Retry-After: 0 keeps the test quick.
    const down = registry.inject({ method: 'PUT', path: registryPath('manifests', 'acme/broken'), fault: { kind: 'status', status: 503, headers: { 'retry-after': '0' }, body: UNAVAILABLE } });
    const run = await sign({ images: `${registry.host}/acme/kept@${kept.digest}\n${registry.host}/acme/broken@${broken.digest}` });
    expect(run.code).not.toBe(0);
    expect(down.hits()).toBeGreaterThanOrEqual(6);
    const [error, ...others] = errorLines(run.stdout);
    expect(others).toEqual([]);
    expect(error).not.toMatch(/unexpected error/);
    expect(error).toContain(`${registry.host}/acme/broken@${broken.digest}`);
    expect(error).toMatch(/answered HTTP 503 \(after \d+ attempts\) when we tried to push the manifest/);
    expect(error).toContain('UNAVAILABLE: "service unavailable"');
    expect(error).toMatch(/Fix: .*run the job again later/);
    expect(error).toContain('1 other signature was written, verified and kept');

    // The other image is signed and verifies; the broken one still holds (only) its earlier signature.
    const good = await readAndCheckLegacy(open, 'acme/kept', kept.digest, `${registry.host}/acme/kept`, trustedRoot);
    expect(good.signatures).toHaveLength(1);
    const still = await readAndCheckLegacy(open, 'acme/broken', broken.digest, `${registry.host}/acme/broken`, trustedRoot);
    expect(still.signatures.map((s) => s.logIndex)).toEqual([earlier]);
    expect(JSON.parse(run.outputs.signatures).map((r: { image: string }) => r.image)).toEqual([`${registry.host}/acme/kept@${kept.digest}`]);
  });
});

describe('concurrent runs through faults', () => {
  it('does not retry a failed .sig write blindly over what another run wrote meanwhile', async () => {
    const img = await pushImage(open, 'acme/overtaken');
    // The first run's first .sig write is refused with Retry-After: 3; the second run writes its signature in that gap.
    const refused = registry.inject({ method: 'PUT', path: registryPath('manifests', 'acme/overtaken'), times: 1, fault: { kind: 'status', status: 503, headers: { 'retry-after': '3' }, body: UNAVAILABLE } });
    const slow = sign({ images: `${registry.host}/acme/overtaken@${img.digest}` });
    const deadline = Date.now() + 20_000;
    while (refused.hits() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(refused.hits()).toBe(1);
    const quick = await sign({ images: `${registry.host}/acme/overtaken@${img.digest}` });
    const late = await slow;
    expect([quick.code, late.code]).toEqual([0, 0]);
    // The quick run was done before the refused one wrote again: a blind retry of the old body would have dropped it.
    const retried = registry.log.filter((e) => e.method === 'PUT' && /acme\/overtaken\/manifests/.test(e.path) && e.status === 201);
    expect(retried.at(-1)!.at).toBeGreaterThan(registry.log.find((e) => e.status === 503)!.at + 2900);
    const { signatures } = await readAndCheckLegacy(open, 'acme/overtaken', img.digest, `${registry.host}/acme/overtaken`, trustedRoot);
    expect(signatures.map((s) => s.logIndex).sort((a, b) => a - b)).toEqual(
      [quick, late].map((r) => Number(r.outputs['rekor-log-index'])).sort((a, b) => a - b),
    );
  });

  it('keeps every signature, in both formats, when 8 runs sign one digest at once while manifest writes fail now and then', async () => {
    const img = await pushImage(open, 'acme/crowd');
    const unavailable = registry.inject({ method: 'PUT', path: registryPath('manifests', 'acme/crowd'), times: 6, fault: { kind: 'status', status: 503, body: UNAVAILABLE } });
    const uploads = registry.inject({ method: 'PUT', path: registryPath('uploads', 'acme/crowd'), times: 2, fault: { kind: 'status', status: 503, body: UNAVAILABLE } });
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => sign({ images: `${registry.host}/acme/crowd@${img.digest}`, 'signature-format': 'both' })),
    );
    for (const run of runs) {
      expect(errorLines(run.stdout)).toEqual([]);
      expect(run.code).toBe(0);
    }
    expect(unavailable.hits()).toBe(6);
    expect(uploads.hits()).toBe(2);

    const logged = (format: string): number[] =>
      runs
        .flatMap((r) => JSON.parse(r.outputs.signatures) as { format: string; rekor: { logIndex: number } }[])
        .filter((s) => s.format === format)
        .map((s) => s.rekor.logIndex)
        .sort((a, b) => a - b);
    const legacy = await readAndCheckLegacy(open, 'acme/crowd', img.digest, `${registry.host}/acme/crowd`, trustedRoot);
    expect(legacy.signatures.map((s) => s.logIndex).sort((a, b) => a - b)).toEqual(logged('legacy'));
    const listed = (await fallbackIndex(open, 'acme/crowd', img.digest))!;
    const bundles = await checkBundleReferrers(open, 'acme/crowd', { digest: img.digest, mediaType: img.mediaType, size: img.size }, listed, trustedRoot);
    expect(bundles.map((b) => b.logIndex).sort((a, b) => a - b)).toEqual(logged('bundle'));
    expect(logged('legacy')).toHaveLength(8);
    expect(logged('bundle')).toHaveLength(8);
  }, 180_000);
});
