/**
 * What the registry sees while dist/index.js signs, counted at a relaying
 * proxy (bench/count.ts, which `npm run bench` uses for the figures), per
 * registry mode. Behaviour, not figures: one auth challenge per run and
 * registry, never one per request or signature; the read right before each
 * `.sig` or index write (the race guard); and the request targets of issue 13
 * as upper bounds.
 */
import { RegistryCounter, floorTarget, type Count, type RegistryMode } from '../../bench/count.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { cleanupRuns } from '../../sandbox/runner.js';

let sandbox: Sandbox;
let counter: RegistryCounter;

beforeAll(async () => {
  sandbox = await startSandbox();
  counter = new RegistryCounter(sandbox);
}, 60_000);
afterAll(async () => {
  await counter?.stop();
  cleanupRuns();
  await sandbox?.stop();
});

const TAG_WRITE = /^\/v2\/.+\/manifests\/sha256-[a-f0-9]{64}(\.sig)?$/;

/** For each write of a `.sig` or referrers-index tag: the request just before it. */
function guardsOf(count: Count): { write: string; before: string }[] {
  return count.log.flatMap((e, i) => {
    if (e.method !== 'PUT' || !TAG_WRITE.test(e.path)) return [];
    const prior = count.log.slice(0, i).reverse().find((p) => p.path.split('?')[0].startsWith(e.path.replace(/\/manifests\/.*/, '/')));
    return [{ write: e.path, before: prior ? `${prior.method} ${prior.path}` : '(nothing)' }];
  });
}

describe.each<RegistryMode>(['open', 'htpasswd', 'token'])('%s registry', (mode) => {
  const challenges = mode === 'open' ? 0 : 1;

  it('answers one challenge per run, the first request, whatever the number of signatures in flight', async () => {
    const c = await counter.count({ mode, n: 5, format: 'legacy', verify: true });
    expect(c.signatures).toHaveLength(5);
    expect(c.challenges).toBe(challenges);
    if (challenges) expect(c.log[0].status).toBe(401);
    expect(c.log.slice(challenges).filter((e) => e.status === 401)).toEqual([]);
    // The auth scheme learnt from the challenge is used up front by every later request.
    if (challenges) expect(c.log.slice(1).every((e) => e.headers.authorization)).toBe(true);
    // Token mode: one token for the repository, not one per signature.
    expect(c.tokens).toBe(mode === 'token' ? 1 : 0);
  }, 120_000);

  it.each([
    ['legacy', false],
    ['legacy', true],
    ['bundle', false],
    ['bundle', true],
  ] as const)('signs one digest in %s format (self-check %s) within the request target', async (format, verify) => {
    const c = await counter.count({ mode, n: 1, format, verify });
    expect(c.signatures).toHaveLength(1);
    expect(c.requests).toBeLessThanOrEqual(floorTarget(format, verify));
    // The self-check reads the signature's own blob, nothing it read back already.
    expect(c.byKind['GET blobs'] ?? 0).toBe(verify ? 1 : 0);
    // Race guard: the tag was read right before it was written (the read itself, or a HEAD after building).
    for (const g of guardsOf(c)) expect(g.before).toBe(`GET ${g.write}`);
  }, 120_000);
});

it('re-signs a digest within the target too, its write guarded by a HEAD right before it', async () => {
  const first = await counter.count({ mode: 'token', n: 1, format: 'legacy', verify: false });
  const again = await counter.count({ mode: 'token', n: 1, format: 'legacy', verify: false, repository: first.repository, digests: first.digests });
  // The payload is there already (the mount finds it): the .sig is not assumed absent, no config is uploaded in vain.
  expect(again.requests).toBeLessThanOrEqual(floorTarget('legacy', false));
  const guards = guardsOf(again);
  expect(guards).toHaveLength(1);
  expect(guards[0].before).toBe(`HEAD ${guards[0].write}`);
  // Both signatures are in the tag.
  const sig = again.log.filter((e) => e.method === 'GET' && TAG_WRITE.test(e.path)).at(-1)!;
  expect((JSON.parse(sig.responseBody.toString('utf8')) as { layers: unknown[] }).layers).toHaveLength(2);
}, 120_000);
