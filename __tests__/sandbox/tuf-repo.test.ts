/**
 * The sandbox TUF repository is a real one: @sigstore/tuf (tuf-js, what the
 * action uses) reads its targets, checking every signature, hash and length,
 * and refuses it when started from another repository's root.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initTUF } from '@sigstore/tuf';
import { canonicalJson, startTufRepository, type SandboxTufRepository } from '../../sandbox/sigstore/tuf-repo.js';

let repo: SandboxTufRepository;
let other: SandboxTufRepository;
const caches: string[] = [];
const cache = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tuf-client-'));
  caches.push(dir);
  return dir;
};

beforeAll(async () => {
  repo = await startTufRepository({ 'trusted_root.json': { mediaType: 'x', n: 1 }, 'signing_config.v0.2.json': Buffer.from('{"a":1}\n') });
  other = await startTufRepository({ 'trusted_root.json': { mediaType: 'y' } });
});
afterAll(async () => {
  await Promise.all([repo?.stop(), other?.stop()]);
  for (const dir of caches) rmSync(dir, { recursive: true, force: true });
});

describe('sandbox TUF repository', () => {
  it('serves its targets to @sigstore/tuf, consistent-snapshot style', async () => {
    const client = await initTUF({ cachePath: cache(), mirrorURL: repo.url, rootPath: repo.rootPath, retry: 0 });
    expect(JSON.parse(await client.getTarget('trusted_root.json'))).toEqual({ mediaType: 'x', n: 1 });
    expect(await client.getTarget('signing_config.v0.2.json')).toBe('{"a":1}\n');
    await expect(client.getTarget('signing_config_rekor_v2.v0.2.json')).rejects.toMatchObject({ code: 'TUF_FIND_TARGET_ERROR' });
    const paths = Object.keys(repo.requests());
    expect(paths).toEqual(expect.arrayContaining(['/2.root.json', '/timestamp.json', '/1.snapshot.json', '/1.targets.json']));
    expect(paths.some((p) => /^\/targets\/[0-9a-f]{64}\.trusted_root\.json$/.test(p))).toBe(true);
  });

  it('is refused by a client that trusts another root: its metadata is really signed', async () => {
    await expect(initTUF({ cachePath: cache(), mirrorURL: repo.url, rootPath: other.rootPath, retry: 0 })).rejects.toThrow('timestamp was signed by 0/1 keys');
  });

  it('signs canonical JSON: sorted keys, no whitespace', () => {
    expect(canonicalJson({ b: [1, { d: true, c: null }], a: 'x"y' })).toBe('{"a":"x\\"y","b":[1,{"c":null,"d":true}]}');
  });
});
