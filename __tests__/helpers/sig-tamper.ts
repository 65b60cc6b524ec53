/**
 * Reads and (re)writes cosign `.sig` manifests with the sandbox's own OCI client,
 * so tests can craft the signatures a verifier must reject: a changed payload,
 * a broken log proof, a signature copied onto another image. Shares no code
 * with src/ (the manifest layout is restated from formats.md).
 */
import { createHash } from 'node:crypto';
import { getBlob, getManifest, pushBlob, putManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { signatureConfig } from '../../src/formats/legacy.js';

export interface SigEntry {
  payload: Buffer;
  annotations: Record<string, string>;
}

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

export const sigTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Every layer of `sha256-<hex>.sig` with its payload. */
export async function readSig(reg: RegistryAccess, repo: string, digest: string): Promise<SigEntry[]> {
  const fetched = await getManifest(reg, repo, sigTag(digest));
  if (!fetched) throw new Error(`no ${sigTag(digest)} in ${repo}`);
  const layers = (fetched.json as { layers: { digest: string; annotations?: Record<string, string> }[] }).layers;
  return Promise.all(layers.map(async (l) => ({ payload: (await getBlob(reg, repo, l.digest))!, annotations: l.annotations ?? {} })));
}

/** Writes `entries` as the `.sig` of `digest`, laid out as cosign does (config with one diff_id per layer). */
export async function writeSig(reg: RegistryAccess, repo: string, digest: string, entries: SigEntry[]): Promise<void> {
  const layers = [];
  for (const e of entries) {
    const blob = await pushBlob(reg, repo, e.payload);
    layers.push({ mediaType: SIMPLE_SIGNING, size: blob.size, digest: blob.digest, annotations: e.annotations });
  }
  const config = signatureConfig(layers);
  const configBlob = await pushBlob(reg, repo, config);
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, size: configBlob.size, digest: sha256(config) }, layers };
  await putManifest(reg, repo, sigTag(digest), manifest, OCI_MANIFEST);
}

/** The `dev.sigstore.cosign/bundle` annotation, parsed, changed by `edit`, and written back. */
export function editRekorBundle(annotations: Record<string, string>, edit: (b: { SignedEntryTimestamp: string; Payload: Record<string, unknown> }) => void): Record<string, string> {
  const bundle = JSON.parse(annotations['dev.sigstore.cosign/bundle']);
  edit(bundle);
  return { ...annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(bundle) };
}
