/**
 * The self-check reads back what was just written. Some of it this run holds
 * already: the `.sig` manifest or referrers index as the append read it back
 * (after the settle delay, holding our element), and a referrer manifest we
 * pushed by digest (the registry stores those exact bytes under that digest).
 * Each is served once from here; any later read (a retried listing) goes to
 * the registry. Layer blobs are always read from the registry.
 */
import type { Recalled } from '../sign/types.js';
import type { BundleReader } from './bundle.js';
import type { RepoRef } from './legacy.js';

const keyOf = (repo: RepoRef, ref: string): string => `${repo.registry}/${repo.repository}@${ref}`;

export function recallingReader(reader: BundleReader, recalled: Recalled[]): BundleReader {
  const held = new Map(recalled.map((r) => [keyOf(r, r.ref), r.manifest]));
  return {
    getManifest: async (repo, ref) => {
      const key = keyOf(repo, ref);
      const manifest = held.get(key);
      if (!manifest) return reader.getManifest(repo, ref);
      held.delete(key);
      return manifest;
    },
    getBlob: (repo, digest, maxBytes) => reader.getBlob(repo, digest, maxBytes),
    referrers: (repo, digest) => reader.referrers(repo, digest),
  };
}
