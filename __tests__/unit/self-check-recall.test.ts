/** The self-check's reader: what the write read back is served once from memory, everything else from the registry. */
import { recallingReader } from '../../src/verify/recall.js';
import type { BundleReader } from '../../src/verify/bundle.js';

const repo = { registry: 'registry.example', repository: 'acme/app' };
const held = { body: Buffer.from('{"held":true}'), json: { held: true } };
const fromRegistry = { body: Buffer.from('{"fresh":true}'), json: { fresh: true } };

it('serves each recalled manifest once, then asks the registry; blobs always come from the registry', async () => {
  const asked: string[] = [];
  const registry: BundleReader = {
    getManifest: async (_r, ref) => (asked.push(`manifest ${ref}`), fromRegistry),
    getBlob: async (_r, digest) => (asked.push(`blob ${digest}`), Buffer.from('payload')),
    referrers: async () => (asked.push('referrers'), { supported: false }),
  };
  const reader = recallingReader(registry, [{ ...repo, ref: 'sha256-abc.sig', manifest: held }]);
  expect(await reader.getManifest(repo, 'sha256-abc.sig')).toBe(held);
  expect(await reader.getManifest({ ...repo, repository: 'acme/other' }, 'sha256-abc.sig')).toBe(fromRegistry);
  // A second read (a retried listing) must see the registry as it is now.
  expect(await reader.getManifest(repo, 'sha256-abc.sig')).toBe(fromRegistry);
  expect((await reader.getBlob(repo, 'sha256:def')).toString()).toBe('payload');
  expect(asked).toEqual(['manifest sha256-abc.sig', 'manifest sha256-abc.sig', 'blob sha256:def']);
});
