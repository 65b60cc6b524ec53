/**
 * Content checks for what a registry returns: a manifest or blob read by digest
 * must hash to that digest (a registry or proxy that alters content is caught
 * here), and a manifest must be JSON.
 */
import { createHash } from 'node:crypto';
import { ActionError } from '../errors.js';
import type { HttpResponse } from '../net/http.js';
import { imageName, isDigest, MEDIA_TYPES, type Descriptor, type Repo } from './types.js';

export interface Manifest {
  descriptor: Descriptor;
  body: Buffer;
  json: Record<string, unknown>;
}

const ALTERED_FIX = 'the registry or a proxy altered the content; retry, and report it to the registry operator if it persists';

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Digest of `bytes` with the algorithm `expected` names (sha256 or sha512). */
function digestLike(expected: string, bytes: Buffer): string {
  const alg = expected.split(':')[0];
  if (alg !== 'sha256' && alg !== 'sha512') throw new ActionError(`digest algorithm "${alg}" is not supported (${expected})`);
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}

export function mediaTypeOf(res: HttpResponse): string | undefined {
  return res.headers.get('content-type')?.split(';')[0].trim() || undefined;
}

/**
 * Whether a referrers API answer is an OCI index, judged as go-containerregistry
 * judges it (pkg/v1/remote/referrers.go compares the Content-Type header
 * verbatim with `application/vnd.oci.image.index.v1+json`): cosign 3 and
 * Kyverno use that code, so with parameters such as `; charset=utf-8` they
 * fall back to the `sha256-<hex>` tag, and so must we, or what we write
 * there is what they cannot find.
 */
export function isExactOciIndexAnswer(res: HttpResponse): boolean {
  return res.headers.get('content-type') === MEDIA_TYPES.ociIndex;
}

/** The manifest in a 200 answer for `ref`, once its bytes are known to be the ones asked for. */
export function checkedManifest(repo: Repo, ref: string, res: HttpResponse): Manifest {
  const computed = isDigest(ref) ? digestLike(ref, res.body) : sha256Digest(res.body);
  const header = res.headers.get('docker-content-digest');
  const expected = isDigest(ref) ? ref : header?.startsWith('sha256:') ? header : computed;
  if (computed !== expected) {
    throw new ActionError(`the registry returned a manifest whose digest is ${computed}, not ${expected}`, { image: imageName(repo, ref), fix: ALTERED_FIX });
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ActionError('the registry returned a manifest that is not JSON', { image: imageName(repo, ref) });
  }
  const mediaType = (typeof json.mediaType === 'string' && json.mediaType) || mediaTypeOf(res) || MEDIA_TYPES.ociManifest;
  return { descriptor: { mediaType, digest: computed, size: res.body.length }, body: res.body, json };
}

/** `body`, once it is known to hash to `digest`. */
export function checkedBlob(repo: Repo, digest: string, body: Buffer): Buffer {
  const actual = digestLike(digest, body);
  if (actual !== digest) {
    throw new ActionError(`the registry returned bytes whose digest is ${actual} for the blob ${digest}`, { image: imageName(repo), fix: ALTERED_FIX });
  }
  return body;
}
