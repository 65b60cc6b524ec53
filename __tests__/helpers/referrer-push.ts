/**
 * Attaches a Sigstore bundle someone else made (a real-world fixture) to an
 * image in a sandbox registry, as cosign 3 does on a registry without the
 * referrers API: the bundle as the one layer of an OCI artifact manifest whose
 * `subject` is the image, listed in the `sha256-<hex>` index. Restated from
 * formats.md ("Bundle format"); no code from src/.
 */
import { getManifest, pushBlob, putManifest, sha256Digest, type RegistryAccess } from '../../sandbox/oci.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY = Buffer.from('{}');

export interface AttachOptions {
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Returns the referrer manifest's digest. */
export async function attachBundle(
  reg: RegistryAccess,
  repo: string,
  subject: { digest: string; mediaType: string; size: number },
  bundle: Buffer,
  opts: AttachOptions = {},
): Promise<string> {
  const config = await pushBlob(reg, repo, EMPTY);
  const layer = await pushBlob(reg, repo, bundle);
  const artifactType = opts.artifactType ?? BUNDLE_V03;
  const manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST,
    artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', ...config },
    layers: [{ mediaType: BUNDLE_V03, ...layer }],
    subject,
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const { digest, size } = await putManifest(reg, repo, sha256Digest(body), body, MANIFEST);
  const tag = subject.digest.replace(':', '-');
  const existing = ((await getManifest(reg, repo, tag))?.json.manifests ?? []) as object[];
  const entry = { mediaType: MANIFEST, digest, size, artifactType, ...(opts.annotations ? { annotations: opts.annotations } : {}) };
  await putManifest(reg, repo, tag, { schemaVersion: 2, mediaType: INDEX, manifests: [...existing, entry] }, INDEX);
  return digest;
}
