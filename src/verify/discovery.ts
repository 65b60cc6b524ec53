/**
 * Which referrers cosign 3 counts as Sigstore bundles. Whether it finds any
 * decides what it reads: cosign verify (cmd/cosign/cli/verify/verify.go) calls
 * GetBundles (pkg/cosign/verify.go), which lists every referrer of the digest,
 * whatever its artifactType, and keeps those that ociremote.Bundle
 * (pkg/oci/remote/signatures.go) can read; if it keeps one, cosign 3 reads only
 * bundles and ignores the `.sig`. Bundle() asks for exactly one layer, a media
 * type starting with `application/vnd.dev.sigstore.bundle`, a bundle that
 * parses and validates (sigstore-go pkg/bundle NewBundle: v0.1 to v0.3, proofs,
 * no chain from v0.3 on), and at least v0.3. Message-signature bundles count
 * too (their verification then fails: cosign wants a DSSE envelope).
 */
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import type { Descriptor } from '../formats/bundle.js';
import type { RepoRef, SignatureReader } from './legacy.js';

const BUNDLE_LAYER_PREFIX = 'application/vnd.dev.sigstore.bundle';
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

export interface ReferrerManifest {
  subject?: { digest?: string };
  layers?: Descriptor[];
}

export type Discovery =
  | { found: true; bundle: SerializedBundle; manifest: ReferrerManifest }
  /** Not a bundle for cosign 3: why (`manifest` when it could be read). */
  | { found: false; why: string; manifest?: ReferrerManifest };

/**
 * The bundle version a media type names, as sigstore-go reads it
 * (pkg/bundle/bundle.go getBundleVersion): `…bundle+json;version=0.N` for
 * 0.1 to 0.3, or `…bundle.v<semver>+json`.
 */
export function bundleVersion(mediaType: unknown): string | undefined {
  if (typeof mediaType !== 'string') return undefined;
  const legacy = /^application\/vnd\.dev\.sigstore\.bundle\+json;version=(0\.[123])$/.exec(mediaType);
  if (legacy) return legacy[1];
  return /^application\/vnd\.dev\.sigstore\.bundle\.v(\d+\.\d+(?:\.\d+)?)\+json$/.exec(mediaType)?.[1];
}

/** cosign 3 reads v0.3 (and v0.3.x); sigstore-go refuses v0.4 and later, cosign anything before v0.3. */
const readableVersion = (v: string | undefined): boolean => v !== undefined && /^0\.3(?:\.\d+)?$/.test(v);

/**
 * What cosign 3 makes of one listed referrer. Registry errors reading the
 * manifest are thrown. `maxBytes` bounds the bundle read (attestations carry
 * whole SBOMs; a signature bundle is a few KiB).
 */
export async function discoverBundle(reader: SignatureReader, repo: RepoRef, referrerDigest: string, maxBytes = MAX_BUNDLE_BYTES): Promise<Discovery> {
  const fetched = await reader.getManifest(repo, referrerDigest);
  if (!fetched) return { found: false, why: 'the referrer is listed but its manifest is not in the repository' };
  const manifest = fetched.json as ReferrerManifest;
  const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
  if (layers.length !== 1) {
    return { found: false, manifest, why: `the referrer has ${layers.length} layers; cosign 3 reads a bundle only from a referrer with exactly one` };
  }
  const [layer] = layers;
  if (typeof layer?.mediaType !== 'string' || !layer.mediaType.startsWith(BUNDLE_LAYER_PREFIX)) {
    return { found: false, manifest, why: `the referrer's layer is ${layer?.mediaType ?? 'untyped'}, not a Sigstore bundle` };
  }
  let json: SerializedBundle;
  try {
    json = JSON.parse((await reader.getBlob(repo, layer.digest, maxBytes)).toString('utf8')) as SerializedBundle;
  } catch (err) {
    return { found: false, manifest, why: `the bundle cannot be read: ${(err as Error).message}` };
  }
  const version = bundleVersion((json as { mediaType?: unknown })?.mediaType);
  if (!readableVersion(version)) {
    const named = version ? `v${version}` : `of media type ${String((json as { mediaType?: unknown })?.mediaType ?? 'none')}`;
    return { found: false, manifest, why: `the bundle is ${named}; cosign 3 reads only v0.3 bundles from the registry` };
  }
  try {
    bundleFromJSON(json);
  } catch (err) {
    const fields = (err as { fields?: string[] }).fields;
    return { found: false, manifest, why: `the bundle is not valid: ${(err as Error).message}${fields?.length ? ` (${fields.join(', ')})` : ''}` };
  }
  return { found: true, bundle: json, manifest };
}
