/**
 * A minimal OCI distribution client for tests, demo and bench: pushes test images and reads back
 * what the action wrote. Deliberately shares NO code with src/ (it checks the code under test), and
 * knows only what the sandbox registries need: plain HTTP, Basic, and Bearer tokens from a realm.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface RegistryAccess {
  url: string;
  username?: string;
  password?: string;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface PushedManifest {
  digest: string;
  size: number;
  mediaType: string;
  manifest: Record<string, unknown>;
}

export interface FetchedManifest {
  body: Buffer;
  json: Record<string, unknown>;
  /** sha256 of the bytes received, computed here rather than trusted from a header. */
  digest: string;
  mediaType: string;
}

export const sha256Digest = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

// ---- transport and auth ----------------------------------------------------------------------

const tokens = new Map<string, { token: string; expires: number }>();
const basicHosts = new Set<string>();

function basicHeader(reg: RegistryAccess): string | undefined {
  if (reg.username === undefined) return undefined;
  return `Basic ${Buffer.from(`${reg.username}:${reg.password ?? ''}`).toString('base64')}`;
}

/** `Bearer realm="..",service="..",scope=".."` → {scheme, params}. */
function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = header.split(' ', 1)[0].toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(scheme.length).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]] = m[2];
  return { scheme, params };
}

/** The actions distribution 2.8 requires for a method (DELETE needs `delete`, writes need `pull,push`). */
function scopeFor(repo: string, method: string): string {
  if (method === 'DELETE') return `repository:${repo}:delete`;
  return method === 'GET' || method === 'HEAD' ? `repository:${repo}:pull` : `repository:${repo}:pull,push`;
}

async function fetchToken(reg: RegistryAccess, params: Record<string, string>, scope: string): Promise<string> {
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  url.searchParams.set('scope', scope);
  const auth = basicHeader(reg);
  const res = await fetch(url, { headers: auth ? { authorization: auth } : {} });
  if (!res.ok) throw new Error(`token request to ${url.origin}${url.pathname} failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error(`token server at ${url.origin} answered without a token`);
  tokens.set(`${reg.url} ${scope}`, { token, expires: Date.now() + ((body.expires_in ?? 60) - 10) * 1000 });
  return token;
}

interface CallOptions {
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Statuses returned to the caller instead of thrown. */
  accept?: number[];
}

/** One registry call, answering a Basic or Bearer challenge once. Throws on unexpected statuses. */
async function call(reg: RegistryAccess, repo: string, method: string, pathOrUrl: string, opts: CallOptions = {}): Promise<Response> {
  const url = new URL(pathOrUrl, reg.url);
  const scope = scopeFor(repo, method);
  const send = (authorization: string | undefined): Promise<Response> =>
    fetch(url, {
      method,
      headers: { ...opts.headers, ...(authorization ? { authorization } : {}) },
      body: opts.body,
      redirect: 'follow',
    });
  const cached = tokens.get(`${reg.url} ${scope}`);
  let authorization = cached && cached.expires > Date.now() ? `Bearer ${cached.token}` : undefined;
  if (!authorization && basicHosts.has(reg.url)) authorization = basicHeader(reg);
  let res = await send(authorization);
  if (res.status === 401) {
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    await res.arrayBuffer();
    if (challenge.scheme === 'basic' && reg.username !== undefined) {
      basicHosts.add(reg.url);
      res = await send(basicHeader(reg));
    } else if (challenge.scheme === 'bearer' && challenge.params.realm) {
      res = await send(`Bearer ${await fetchToken(reg, challenge.params, challenge.params.scope ?? scope)}`);
    }
  }
  if (!res.ok && !(opts.accept ?? []).includes(res.status)) {
    const text = (await res.text()).slice(0, 500);
    throw new Error(`${method} ${url.pathname} on ${reg.url} failed: ${res.status} ${text}`);
  }
  return res;
}

// ---- blobs -----------------------------------------------------------------------------------

/** Uploads a blob (POST then PUT: distribution 2.8 stores nothing for a lone POST with a body). */
export async function pushBlob(reg: RegistryAccess, repo: string, data: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(data);
  const head = await call(reg, repo, 'HEAD', `/v2/${repo}/blobs/${digest}`, { accept: [404] });
  if (head.ok) return { digest, size: data.length };
  // Concurrent uploads of identical bytes sometimes get 400/500 from distribution 2.8: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      const start = await call(reg, repo, 'POST', `/v2/${repo}/blobs/uploads/`);
      await start.arrayBuffer();
      const location = new URL(start.headers.get('location') ?? '', reg.url);
      location.searchParams.set('digest', digest);
      const put = await call(reg, repo, 'PUT', location.toString(), {
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      await put.arrayBuffer();
      return { digest, size: data.length };
    } catch (err) {
      if (attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

export async function getBlob(reg: RegistryAccess, repo: string, digest: string): Promise<Buffer | undefined> {
  const res = await call(reg, repo, 'GET', `/v2/${repo}/blobs/${digest}`, { accept: [404] });
  if (res.status === 404) return undefined;
  return Buffer.from(await res.arrayBuffer());
}

// ---- manifests and tags ----------------------------------------------------------------------

export async function putManifest(
  reg: RegistryAccess,
  repo: string,
  ref: string,
  manifest: Uint8Array | object,
  mediaType: string,
): Promise<{ digest: string; size: number }> {
  const body = manifest instanceof Uint8Array ? manifest : Buffer.from(JSON.stringify(manifest));
  const res = await call(reg, repo, 'PUT', `/v2/${repo}/manifests/${ref}`, { headers: { 'content-type': mediaType }, body });
  await res.arrayBuffer();
  return { digest: sha256Digest(body), size: body.length };
}

export async function getManifest(reg: RegistryAccess, repo: string, ref: string): Promise<FetchedManifest | undefined> {
  const res = await call(reg, repo, 'GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT }, accept: [404] });
  if (res.status === 404) return undefined;
  const body = Buffer.from(await res.arrayBuffer());
  const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  const mediaType = (res.headers.get('content-type') ?? (json.mediaType as string | undefined) ?? '').split(';')[0];
  return { body, json, digest: sha256Digest(body), mediaType };
}

/** Deletes a manifest by digest (distribution 2.8 also drops every tag pointing at it). */
export async function deleteManifest(reg: RegistryAccess, repo: string, digest: string): Promise<boolean> {
  const res = await call(reg, repo, 'DELETE', `/v2/${repo}/manifests/${digest}`, { accept: [404] });
  await res.arrayBuffer();
  return res.status !== 404;
}

export async function listTags(reg: RegistryAccess, repo: string): Promise<string[]> {
  const res = await call(reg, repo, 'GET', `/v2/${repo}/tags/list`, { accept: [404] });
  if (res.status === 404) return [];
  return (((await res.json()) as { tags?: string[] | null }).tags ?? []).sort();
}

// ---- test images -----------------------------------------------------------------------------

function parsePlatform(platform: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = platform.split('/');
  if (!os || !architecture) throw new Error(`platform "${platform}" must look like os/arch[/variant], e.g. linux/amd64`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Deterministic bytes from a seed, so the same seed gives the same image digest. */
function seededBytes(seed: string, length: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < length; i++) out.push(createHash('sha256').update(`${seed}/${i}`).digest());
  return Buffer.concat(out).subarray(0, length);
}

async function pushManifestAt(reg: RegistryAccess, repo: string, tag: string | undefined, manifest: Record<string, unknown>): Promise<PushedManifest> {
  const body = Buffer.from(JSON.stringify(manifest));
  const mediaType = manifest.mediaType as string;
  const digest = sha256Digest(body);
  await putManifest(reg, repo, tag ?? digest, body, mediaType);
  return { digest, size: body.length, mediaType, manifest };
}

/** Pushes a small single-layer OCI image (random unless seeded); tagged if `tag` is given. */
export async function pushImage(
  reg: RegistryAccess,
  repo: string,
  opts: { tag?: string; seed?: string; platform?: string } = {},
): Promise<PushedManifest> {
  const seed = opts.seed ?? randomBytes(16).toString('hex');
  const platform = parsePlatform(opts.platform ?? 'linux/amd64');
  const content = seededBytes(`layer:${seed}:${opts.platform ?? ''}`, 256);
  const layerBytes = gzipSync(content, { level: 9 });
  const layer = await pushBlob(reg, repo, layerBytes);
  const config = Buffer.from(
    JSON.stringify({ ...platform, created: '2024-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: [sha256Digest(content)] } }),
  );
  const configBlob = await pushBlob(reg, repo, config);
  return pushManifestAt(reg, repo, opts.tag, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...configBlob },
    layers: [{ mediaType: OCI_LAYER_GZIP, ...layer }],
  });
}

/** A BuildKit-style attestation manifest (in-toto layer) for `subject`, as `docker buildx` pushes them. */
async function pushAttestationManifest(reg: RegistryAccess, repo: string, subject: string): Promise<PushedManifest> {
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://spdx.dev/Document',
      subject: [{ name: 'sandbox', digest: { sha256: subject.replace(/^sha256:/, '') } }],
      predicate: { spdxVersion: 'SPDX-2.3', name: 'sandbox' },
    }),
  );
  const layer = await pushBlob(reg, repo, statement);
  const config = await pushBlob(reg, repo, Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
  return pushManifestAt(reg, repo, undefined, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...config },
    layers: [{ mediaType: 'application/vnd.in-toto+json', ...layer, annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' } }],
  });
}

export interface IndexChild {
  digest: string;
  platform: string;
  attestation: boolean;
}

/** Pushes one image per platform and an OCI index of them (plus attestation manifests if asked). */
export async function pushIndex(
  reg: RegistryAccess,
  repo: string,
  opts: { tag?: string; platforms: string[]; attestations?: boolean; seed?: string },
): Promise<PushedManifest & { children: IndexChild[] }> {
  const seed = opts.seed ?? randomBytes(16).toString('hex');
  const manifests: Descriptor[] = [];
  const children: IndexChild[] = [];
  const images = await Promise.all(opts.platforms.map((platform) => pushImage(reg, repo, { seed, platform })));
  images.forEach((image, i) => {
    manifests.push({ mediaType: image.mediaType, digest: image.digest, size: image.size, platform: parsePlatform(opts.platforms[i]) });
    children.push({ digest: image.digest, platform: opts.platforms[i], attestation: false });
  });
  if (opts.attestations) {
    for (const image of images) {
      const att = await pushAttestationManifest(reg, repo, image.digest);
      manifests.push({
        mediaType: att.mediaType,
        digest: att.digest,
        size: att.size,
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': image.digest },
      });
      children.push({ digest: att.digest, platform: 'unknown/unknown', attestation: true });
    }
  }
  const pushed = await pushManifestAt(reg, repo, opts.tag, { schemaVersion: 2, mediaType: OCI_INDEX, manifests });
  return { ...pushed, children };
}
