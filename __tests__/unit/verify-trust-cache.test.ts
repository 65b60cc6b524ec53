/**
 * The public-good trusted root is fetched at most once per runner and day and
 * kept in the runner's tool cache (the real @actions/tool-cache, on a temp
 * RUNNER_TOOL_CACHE); offline runs use the newest cached copy. The fetcher is
 * a fake: no network.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tc from '@actions/tool-cache';
import { ActionError } from '../../src/errors.js';
import { cacheVersion, loadPublicGoodTrust, loadTrust, TRUSTED_ROOT_TOOL, type PublicGoodDeps } from '../../src/verify/trust.js';

const ROOT = JSON.parse(readFileSync(new URL('../fixtures/real-world/public-good-trusted-root.json', import.meta.url), 'utf8'));
const DAY1 = new Date('2026-08-20T10:00:00Z');
const DAY2 = new Date('2026-08-21T09:00:00Z');

let toolCache: string;
const saved = { cache: process.env.RUNNER_TOOL_CACHE, temp: process.env.RUNNER_TEMP, write: process.stdout.write };
beforeEach(() => {
  // @actions/tool-cache logs `::debug::` lines to stdout: keep the test output readable.
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    String(chunk).startsWith('::debug::') ? true : (saved.write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest)) as typeof process.stdout.write;
  toolCache = mkdtempSync(path.join(tmpdir(), 'tool-cache-'));
  process.env.RUNNER_TOOL_CACHE = toolCache;
  process.env.RUNNER_TEMP = mkdtempSync(path.join(tmpdir(), 'runner-temp-'));
});
afterEach(() => {
  process.stdout.write = saved.write;
  rmSync(toolCache, { recursive: true, force: true });
  process.env.RUNNER_TOOL_CACHE = saved.cache;
  process.env.RUNNER_TEMP = saved.temp;
});

interface Fake {
  deps: PublicGoodDeps;
  fetches: () => number;
  warnings: string[];
}

function fake(opts: { now: Date; fetch?: () => Promise<unknown>; cache?: boolean }): Fake {
  let count = 0;
  const warnings: string[] = [];
  const deps: PublicGoodDeps = {
    fetchTrustedRoot: async () => {
      count++;
      return opts.fetch ? opts.fetch() : structuredClone(ROOT);
    },
    cache: opts.cache === false ? undefined : { find: tc.find, findAllVersions: tc.findAllVersions, cacheDir: tc.cacheDir },
    now: () => opts.now,
    warn: (m) => warnings.push(m),
  };
  return { deps, fetches: () => count, warnings };
}

const offline = () => Promise.reject(new Error('getaddrinfo ENOTFOUND tuf-repo-cdn.sigstore.dev'));

describe('public-good trusted root cache', () => {
  it('fetches once, stores it under a version of the day, and reuses it that day without fetching', async () => {
    const first = fake({ now: DAY1 });
    const trust = await loadPublicGoodTrust(first.deps);
    expect(first.fetches()).toBe(1);
    expect(trust.root.tlogs.length).toBeGreaterThan(0);
    expect(cacheVersion(DAY1)).toBe('1.0.20260820');
    const dir = tc.find(TRUSTED_ROOT_TOOL, cacheVersion(DAY1));
    expect(dir.startsWith(toolCache)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, 'trusted_root.json'), 'utf8'))).toEqual(ROOT);

    const again = fake({ now: DAY1 });
    const cached = await loadPublicGoodTrust(again.deps);
    expect(again.fetches()).toBe(0);
    expect(cached.source).toContain('cached on this runner, 2026-08-20');
    expect(cached.root).toEqual(trust.root);
  });

  it('fetches again the next day', async () => {
    await loadPublicGoodTrust(fake({ now: DAY1 }).deps);
    const next = fake({ now: DAY2 });
    await loadPublicGoodTrust(next.deps);
    expect(next.fetches()).toBe(1);
    expect(tc.findAllVersions(TRUSTED_ROOT_TOOL).sort()).toEqual(['1.0.20260820', '1.0.20260821']);
  });

  it('offline, uses the newest cached copy and says so', async () => {
    await loadPublicGoodTrust(fake({ now: new Date('2026-08-01T00:00:00Z') }).deps);
    await loadPublicGoodTrust(fake({ now: DAY1 }).deps);
    const off = fake({ now: DAY2, fetch: offline });
    const trust = await loadPublicGoodTrust(off.deps);
    expect(off.fetches()).toBe(1);
    expect(trust.source).toContain('2026-08-20');
    expect(off.warnings).toEqual([expect.stringMatching(/ENOTFOUND tuf-repo-cdn\.sigstore\.dev.*cached on this runner on 2026-08-20/)]);
  });

  it('offline with nothing cached, fails with the cause and the fix', async () => {
    const off = fake({ now: DAY1, fetch: offline });
    const err = await loadPublicGoodTrust(off.deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect((err as Error).message).toMatch(/could not get the Sigstore public-good trusted root: getaddrinfo ENOTFOUND.*Fix: allow the runner to reach tuf-repo-cdn\.sigstore\.dev/);
  });

  it('neither uses nor caches an answer that is not a trusted root', async () => {
    const junk = fake({ now: DAY1, fetch: async () => ({ mediaType: 'nonsense' }) });
    await expect(loadPublicGoodTrust(junk.deps)).rejects.toThrow(/lists no certificate authority/);
    expect(tc.findAllVersions(TRUSTED_ROOT_TOOL)).toEqual([]);
  });

  it('re-fetches when the cached copy of the day is damaged', async () => {
    await loadPublicGoodTrust(fake({ now: DAY1 }).deps);
    writeFileSync(path.join(tc.find(TRUSTED_ROOT_TOOL, cacheVersion(DAY1)), 'trusted_root.json'), '{"truncated');
    const again = fake({ now: DAY1 });
    await loadPublicGoodTrust(again.deps);
    expect(again.fetches()).toBe(1);
  });

  it('without a tool cache (RUNNER_TOOL_CACHE unset), just fetches', async () => {
    const noCache = fake({ now: DAY1, cache: false });
    await loadPublicGoodTrust(noCache.deps);
    await loadPublicGoodTrust(noCache.deps);
    expect(noCache.fetches()).toBe(2);
    expect(existsSync(path.join(toolCache, TRUSTED_ROOT_TOOL))).toBe(false);
  });
});

describe('custom trusted root', () => {
  it('reads the file and names the input when it is not a trusted root', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custom-root-'));
    const good = path.join(dir, 'good.json');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify(ROOT));
    writeFileSync(bad, '{}');
    const custom = { kind: 'custom' as const, fulcioUrl: 'https://f', rekorUrl: 'https://r' };
    expect((await loadTrust({ ...custom, trustedRootPath: good })).source).toBe(good);
    await expect(loadTrust({ ...custom, trustedRootPath: bad })).rejects.toThrow(/input `trusted-root`: cannot use .*bad\.json as a trusted root/);
    rmSync(dir, { recursive: true, force: true });
  });
});
