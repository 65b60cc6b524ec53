/**
 * Puts attestations where verifiers look, with the sandbox's own OCI client
 * (no code from src/; layouts restated from attestations.md): a `.att` tag
 * written from envelopes, and copies of existing attestations onto another
 * digest (the `.att` manifest re-tagged; a bundle referrer re-pushed with
 * another `subject` and listed in that digest's `sha256-<hex>` index), which a
 * verifier must refuse because the signed statement names the first digest.
 */
import { createHash } from 'node:crypto';
import { getManifest, pushBlob, putManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { signatureConfig } from '../../src/formats/legacy.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const DSSE = 'application/vnd.dsse.envelope.v1+json';

export const attTag = (digest: string): string => `${digest.replace(':', '-')}.att`;
const referrersTag = (digest: string): string => digest.replace(':', '-');
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Writes `sha256-<hex>.att` for `digest`: one DSSE layer per envelope, cosign's config (one diff_id each). */
export async function writeAtt(reg: RegistryAccess, repo: string, digest: string, entries: { envelope: Buffer; annotations: Record<string, string> }[]): Promise<void> {
  const layers = [];
  for (const e of entries) {
    const blob = await pushBlob(reg, repo, e.envelope);
    layers.push({ mediaType: DSSE, size: blob.size, digest: blob.digest, annotations: e.annotations });
  }
  // Write-side helpers use the real config builder (the readers under test do not look at it).
  const config = signatureConfig(layers);
  const configBlob = await pushBlob(reg, repo, config);
  const manifest = { schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: configBlob.size, digest: sha256(config) }, layers };
  await putManifest(reg, repo, attTag(digest), manifest, MANIFEST);
}

/** The `.att` of `from`, tagged for `to` as well (same blobs, same repository). */
export async function copyAtt(reg: RegistryAccess, repo: string, from: string, to: string): Promise<void> {
  const fetched = await getManifest(reg, repo, attTag(from));
  if (!fetched) throw new Error(`no ${attTag(from)} in ${repo}`);
  await putManifest(reg, repo, attTag(to), fetched.body, MANIFEST);
}

/** Every referrer listed in the `sha256-<hex>` index of `digest` (registries without the referrers API). */
export async function listedReferrers(reg: RegistryAccess, repo: string, digest: string): Promise<{ digest: string; artifactType?: string; annotations?: Record<string, string> }[]> {
  return ((await getManifest(reg, repo, referrersTag(digest)))?.json.manifests ?? []) as { digest: string }[];
}

/** Each referrer of `from`, re-pushed with `to` as its subject and listed for `to`. */
export async function copyReferrers(reg: RegistryAccess, repo: string, from: string, to: { digest: string; mediaType: string; size: number }): Promise<number> {
  const listed = await listedReferrers(reg, repo, from);
  const entries = [];
  for (const entry of listed) {
    const manifest = (await getManifest(reg, repo, entry.digest))!.json;
    const body = Buffer.from(JSON.stringify({ ...manifest, subject: { mediaType: to.mediaType, digest: to.digest, size: to.size } }));
    const pushed = await putManifest(reg, repo, sha256(body), body, MANIFEST);
    entries.push({ mediaType: MANIFEST, ...pushed, artifactType: entry.artifactType, ...(entry.annotations ? { annotations: entry.annotations } : {}) });
  }
  const existing = ((await getManifest(reg, repo, referrersTag(to.digest)))?.json.manifests ?? []) as object[];
  await putManifest(reg, repo, referrersTag(to.digest), { schemaVersion: 2, mediaType: INDEX, manifests: [...existing, ...entries] }, INDEX);
  return entries.length;
}
