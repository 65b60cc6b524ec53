/**
 * Plain data shared by the registry client, its auth layer and the append logic:
 * where a repository lives, what a descriptor is, and the media types we speak.
 */

/** A repository on a registry: `{ registry: 'ghcr.io', repository: 'acme/app' }`. */
export interface Repo {
  /** Host with optional port, as in image references: `ghcr.io`, `index.docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Path of the repository on that registry: `acme/app`, `library/nginx`. */
  repository: string;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  octetStream: 'application/octet-stream',
} as const;

/**
 * Accept header for manifests: distribution answers 404 for an OCI manifest asked
 * for without an OCI type, and Docker Hub converts to schema 1 without any.
 */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerManifestList,
].join(', ');

/** `ghcr.io/acme/app`, with `@sha256:…` or `:tag` when a reference is given. */
export function imageName(repo: Repo, ref?: string): string {
  const name = `${repo.registry}/${repo.repository}`;
  if (ref === undefined) return name;
  return isDigest(ref) ? `${name}@${ref}` : `${name}:${ref}`;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** True when `ref` is a digest (`sha256:…`) rather than a tag. */
export function isDigest(ref: string): boolean {
  return DIGEST.test(ref);
}
