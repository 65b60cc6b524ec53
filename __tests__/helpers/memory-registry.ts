/**
 * Just enough of an OCI registry, in memory, for signing and verifying without
 * a server: blobs and manifests by digest, tags, and (when `api`) a referrers
 * API that lists every manifest naming a subject. It does not check digests,
 * so tests can swap a blob's bytes. Plus helpers to put an image and a
 * hand-made referrer in it, listed in the `sha256-<hex>` index when there is no API.
 */
import { createHash } from 'node:crypto';
import type { Subject } from '../../src/subjects/resolve.js';

export const INDEX = 'application/vnd.oci.image.index.v1+json';
export const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 };
export const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const memoryRepo = { registry: 'mem.example', repository: 'acme/app' };

export class MemoryRegistry {
  blobs = new Map<string, Buffer>();
  manifests = new Map<string, { body: Buffer; mediaType: string }>();
  tags = new Map<string, string>();
  constructor(readonly api: boolean) {}
  async pushBlob(_r: unknown, bytes: Buffer, mediaType = 'application/octet-stream') {
    this.blobs.set(digestOf(bytes), bytes);
    return { mediaType, digest: digestOf(bytes), size: bytes.length };
  }
  async uploadBlob(_r: unknown, bytes: Buffer, mediaType = 'application/octet-stream') {
    const existed = this.blobs.has(digestOf(bytes));
    return { descriptor: await this.pushBlob(_r, bytes, mediaType), existed };
  }
  async getBlob(_r: unknown, digest: string) {
    const b = this.blobs.get(digest);
    if (!b) throw new Error(`no blob ${digest}`);
    return b;
  }
  async putManifest(_r: unknown, ref: string, body: Buffer | string, mediaType: string) {
    const bytes = Buffer.from(body);
    this.manifests.set(digestOf(bytes), { body: bytes, mediaType });
    if (!ref.startsWith('sha256:')) this.tags.set(ref, digestOf(bytes));
    return { mediaType, digest: digestOf(bytes), size: bytes.length };
  }
  async getManifest(_r: unknown, ref: string) {
    const digest = ref.startsWith('sha256:') ? ref : this.tags.get(ref);
    const m = digest ? this.manifests.get(digest) : undefined;
    if (!m || !digest) return undefined;
    return { descriptor: { mediaType: m.mediaType, digest, size: m.body.length }, body: m.body, json: JSON.parse(m.body.toString()) };
  }
  async headManifest(r: unknown, ref: string) {
    return (await this.getManifest(r, ref))?.descriptor;
  }
  async referrers(_r: unknown, digest: string) {
    if (!this.api) return { supported: false as const };
    const manifests = [...this.manifests.entries()]
      .map(([d, m]) => ({ d, m, json: JSON.parse(m.body.toString()) }))
      .filter(({ json }) => json.subject?.digest === digest)
      .map(({ d, m, json }) => ({ mediaType: m.mediaType, digest: d, size: m.body.length, artifactType: json.artifactType, annotations: json.annotations }));
    return { supported: true as const, manifests };
  }
}

/** A small index manifest standing in for an image (its digest is what gets signed). */
export async function memoryImage(reg: MemoryRegistry, seed: string): Promise<Subject> {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [], annotations: { seed } }));
  const d = await reg.putManifest(memoryRepo, 'sha256:x', body, INDEX);
  const repo = memoryRepo;
  return { repo, digest: d.digest, mediaType: INDEX, size: d.size, dockerReference: `${repo.registry}/${repo.repository}`, names: [] };
}

export interface ReferrerOptions {
  /** The manifest's (and listing's) artifactType; default the v0.3 bundle type. */
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Layer media type of the bundle; default the v0.3 bundle type. */
  layerMediaType?: string;
  /** More layers after the bundle's. */
  extraLayers?: Buffer[];
}

/**
 * Pushes `bundle` as a referrer of `subject` (one layer, unless `extraLayers`)
 * and, without the API, lists it in the `sha256-<hex>` index beside what is there.
 */
export async function pushReferrer(reg: MemoryRegistry, subject: Subject, bundle: object, opts: ReferrerOptions = {}): Promise<string> {
  const artifactType = opts.artifactType ?? BUNDLE_V03;
  const layer = await reg.pushBlob(memoryRepo, Buffer.from(JSON.stringify(bundle)), opts.layerMediaType ?? BUNDLE_V03);
  const extra = await Promise.all((opts.extraLayers ?? []).map((b) => reg.pushBlob(memoryRepo, b, 'application/octet-stream')));
  const manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST,
    artifactType,
    config: EMPTY,
    layers: [layer, ...extra],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const d = await reg.putManifest(memoryRepo, 'sha256:x', Buffer.from(JSON.stringify(manifest)), MANIFEST);
  if (!reg.api) {
    const tag = subject.digest.replace(':', '-');
    const listed = ((await reg.getManifest(memoryRepo, tag))?.json.manifests ?? []) as object[];
    const entry = { ...d, artifactType, ...(opts.annotations ? { annotations: opts.annotations } : {}) };
    await reg.putManifest(memoryRepo, tag, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [...listed, entry] })), INDEX);
  }
  return `${memoryRepo.registry}/${memoryRepo.repository}@${d.digest}`;
}
