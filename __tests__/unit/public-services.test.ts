/**
 * Where the public-good services come from when Sigstore's signing config can,
 * or cannot, be had: the TUF repository, the runner's tool cache (one copy a
 * day, as for the trusted root), the known URLs (plain config, with a warning),
 * or a clear failure (the Rekor v2 opt-in). The fetcher is a fake: no network.
 * Also the testing hook's environment variables, and the `rekor-v2` input.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tc from '@actions/tool-cache';
import { parseConfig } from '../../src/config.js';
import { ActionError } from '../../src/errors.js';
import { publicGoodServices, type PublicServicesDeps } from '../../src/verify/public-services.js';
import { tufSource } from '../../src/verify/tuf.js';
import { thrown } from '../helpers/thrown.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/real-world/${name}`, import.meta.url), 'utf8'));
const PLAIN = fixture('public-good-signing-config.v0.2.json');
const REKOR_V2 = fixture('public-good-signing-config-rekor-v2.v0.2.json');
const DAY1 = new Date('2026-12-05T10:00:00Z');
const DAY2 = new Date('2026-12-06T10:00:00Z');
const missing = (name: string) => Object.assign(new Error(`target ${name} not found`), { code: 'TUF_FIND_TARGET_ERROR' });
const offline = () => Promise.reject(Object.assign(new Error('error refreshing TUF metadata'), { cause: new Error('getaddrinfo ENOTFOUND tuf-repo-cdn.sigstore.dev') }));

let toolCache: string;
const saved = { cache: process.env.RUNNER_TOOL_CACHE, temp: process.env.RUNNER_TEMP, write: process.stdout.write };
beforeEach(() => {
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

function fake(now: Date, fetch: (name: string) => Promise<unknown>, cache = true) {
  const fetched: string[] = [];
  const warnings: string[] = [];
  const deps: PublicServicesDeps = {
    source: {},
    fetchTarget: (name) => {
      fetched.push(name);
      return fetch(name);
    },
    cache: cache ? { find: tc.find, findAllVersions: tc.findAllVersions, cacheDir: tc.cacheDir } : undefined,
    now: () => now,
    warn: (m) => warnings.push(m),
  };
  return { deps, fetched, warnings };
}
const serve = (targets: Record<string, unknown>) => async (name: string) => {
  if (!(name in targets)) throw missing(name);
  return structuredClone(targets[name]);
};
const repo = serve({ 'signing_config.v0.2.json': PLAIN, 'signing_config_rekor_v2.v0.2.json': REKOR_V2 });

describe('public-good services', () => {
  it('come from signing_config.v0.2.json, fetched once a day per runner', async () => {
    const first = fake(DAY1, repo);
    expect(await publicGoodServices(false, first.deps)).toMatchObject({ fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev', rekorMajor: 1 });
    expect(first.fetched).toEqual(['signing_config.v0.2.json']);
    const again = fake(DAY1, repo);
    await publicGoodServices(false, again.deps);
    expect(again.fetched).toEqual([]);
    const nextDay = fake(DAY2, repo);
    await publicGoodServices(false, nextDay.deps);
    expect(nextDay.fetched).toEqual(['signing_config.v0.2.json']);
    expect(first.warnings).toEqual([]);
  });

  it('follow a new shard as soon as Sigstore publishes it', async () => {
    const moved = structuredClone(PLAIN) as { rekorTlogUrls: { url: string; validFor: { start: string } }[] };
    moved.rekorTlogUrls.unshift({ ...moved.rekorTlogUrls[0], url: 'https://rekor2.sigstore.dev', validFor: { start: '2026-06-01T00:00:00Z' } });
    const { deps } = fake(DAY1, serve({ 'signing_config.v0.2.json': moved }), false);
    expect((await publicGoodServices(false, deps)).rekorUrl).toBe('https://rekor2.sigstore.dev');
  });

  it('with rekor-v2: the Rekor v2 shard and the TSA of signing_config_rekor_v2.v0.2.json', async () => {
    const { deps, fetched } = fake(DAY1, repo);
    expect(await publicGoodServices(true, deps)).toMatchObject({
      rekorUrl: 'https://log2025-1.rekor.sigstore.dev',
      rekorMajor: 2,
      tsaUrl: 'https://timestamp.sigstore.dev/api/v1/timestamp',
    });
    expect(fetched).toEqual(['signing_config_rekor_v2.v0.2.json']);
  });

  it('offline: an older cached copy, with a warning that says why', async () => {
    await publicGoodServices(false, fake(DAY1, repo).deps);
    const later = fake(DAY2, offline);
    expect((await publicGoodServices(false, later.deps)).rekorUrl).toBe('https://rekor.sigstore.dev');
    expect(later.warnings).toEqual([expect.stringMatching(/could not get signing_config\.v0\.2\.json .*ENOTFOUND tuf-repo-cdn\.sigstore\.dev.*using the copy cached on this runner/)]);
  });

  it('plain config missing or unreachable, nothing cached: the known public-good URLs, with a warning saying what to do', async () => {
    for (const fetch of [serve({}), offline]) {
      const { deps, warnings } = fake(DAY1, fetch, false);
      expect(await publicGoodServices(false, deps)).toEqual({ fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev', rekorMajor: 1, notes: [] });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("could not get Sigstore's signing config (signing_config.v0.2.json)");
      expect(warnings[0]).toContain('allow the runner to reach tuf-repo-cdn.sigstore.dev');
    }
  });

  it('rekor-v2 without its config fails, naming the target, the cause and the way out', async () => {
    const absent = fake(DAY1, serve({ 'signing_config.v0.2.json': PLAIN }), false);
    const err = (await publicGoodServices(true, absent.deps).catch((e: unknown) => e)) as ActionError;
    expect(err).toBeInstanceOf(ActionError);
    expect(err.input).toBe('rekor-v2');
    expect(err.message).toContain('has no signing_config_rekor_v2.v0.2.json target');
    expect(err.fix).toContain('remove `rekor-v2` to sign with Rekor v1');
    const down = fake(DAY1, offline, false);
    const err2 = (await publicGoodServices(true, down.deps).catch((e: unknown) => e)) as ActionError;
    expect(err2.message).toContain('ENOTFOUND tuf-repo-cdn.sigstore.dev');
    expect(err2.fix).toContain('allow the runner to reach tuf-repo-cdn.sigstore.dev (HTTPS), or remove `rekor-v2`');
  });

  it('a config naming no service this version can use fails: no URL is guessed', async () => {
    const future = structuredClone(PLAIN) as { caUrls: { majorApiVersion: number }[] };
    future.caUrls[0].majorApiVersion = 2;
    const { deps } = fake(DAY1, serve({ 'signing_config.v0.2.json': future }), false);
    const err = (await publicGoodServices(false, deps).catch((e: unknown) => e)) as ActionError;
    expect(err.message).toContain('it lists no certificate authority for API version 1');
    expect(err.fix).toContain('update sign-action');
  });

  it('rekor-v2 when the config lists Rekor v2 but no TSA: fails (v2 records no signing time)', async () => {
    const noTsa = { ...(structuredClone(REKOR_V2) as object), tsaUrls: [] };
    const { deps } = fake(DAY1, serve({ 'signing_config_rekor_v2.v0.2.json': noTsa }), false);
    await expect(publicGoodServices(true, deps)).rejects.toThrow('no timestamp authority');
  });

  it('rekor-v2 before any v2 shard is valid: Rekor v1, with a note', async () => {
    const { deps } = fake(new Date('2025-12-01T00:00:00Z'), repo, false);
    const services = await publicGoodServices(true, deps);
    expect(services.rekorMajor).toBe(1);
    expect(services.notes).toEqual([expect.stringContaining('lists no Rekor v2 log valid now')]);
  });
});

describe('the testing hook (SIGN_ACTION_TUF_MIRROR / SIGN_ACTION_TUF_ROOT)', () => {
  it('is off unless both are set, and refuses remote plain http', () => {
    expect(tufSource({})).toEqual({});
    expect(tufSource({ SIGN_ACTION_TUF_MIRROR: 'http://127.0.0.1:8080/', SIGN_ACTION_TUF_ROOT: '/tmp/root.json' })).toEqual({
      mirrorUrl: 'http://127.0.0.1:8080',
      rootPath: '/tmp/root.json',
    });
    expect(thrown(() => tufSource({ SIGN_ACTION_TUF_MIRROR: 'https://tuf.example' })).message).toContain('SIGN_ACTION_TUF_ROOT is not set while SIGN_ACTION_TUF_MIRROR is');
    expect(thrown(() => tufSource({ SIGN_ACTION_TUF_MIRROR: 'http://tuf.example', SIGN_ACTION_TUF_ROOT: '/r.json' })).message).toContain('must be https');
  });
});

describe('the rekor-v2 input', () => {
  const env = { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1/token', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'x', GITHUB_REPOSITORY: 'acme/app' };
  const parse = (inputs: Record<string, string>) => parseConfig((name) => ({ images: `ghcr.io/acme/app@sha256:${'1'.repeat(64)}`, ...inputs })[name] ?? '', env);

  it('is off by default, and on for bundles on public-good', () => {
    expect(parse({}).sigstore.rekorV2).toBeUndefined();
    expect(parse({ 'rekor-v2': 'true', 'signature-format': 'bundle' }).sigstore).toMatchObject({ kind: 'public-good', rekorV2: true });
  });

  it('is refused for legacy signatures (Rekor v2 gives no signed entry timestamp) and for a custom instance', () => {
    for (const format of ['legacy', 'both']) {
      const err = thrown(() => parse({ 'rekor-v2': 'true', 'signature-format': format }));
      expect(err.input).toBe('rekor-v2');
      expect(err.fix).toContain('signature-format: bundle');
    }
    const custom = thrown(() =>
      parse({ 'rekor-v2': 'true', 'signature-format': 'bundle', sigstore: 'custom', 'fulcio-url': 'https://f.example', 'rekor-url': 'https://r.example', verify: 'false' }),
    );
    expect(custom.message).toContain('sigstore is custom');
    expect(thrown(() => parse({ 'rekor-v2': 'yes' })).input).toBe('rekor-v2');
  });
});
