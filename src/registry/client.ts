/**
 * Our OCI distribution client: manifests, blobs and the referrers API, over
 * src/net/http.ts (timeouts, retries, redirects without credentials), with the
 * auth of ./auth.ts. Everything read by digest is checked against that digest.
 */
import { createHash } from 'node:crypto';
import * as core from '@actions/core';
import { ActionError } from '../errors.js';
import { backoffMs, DEFAULT_RETRY, HttpError, request, type HttpRequest, type HttpResponse, type RetryPolicy } from '../net/http.js';
import { RegistryAuth } from './auth.js';
import type { CredentialResolver } from './credentials.js';
import { accessDeniedError, parseRegistryErrors, unexpectedStatusError, unreachableError } from './errors.js';
import { registryBaseUrl } from './hosts.js';
import { imageName, isDigest, MANIFEST_ACCEPT, MEDIA_TYPES, type Descriptor, type Repo } from './types.js';

export interface RegistryClientOptions {
  credentials: CredentialResolver;
  retry?: RetryPolicy;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Masks secrets in the job log; defaults to `core.setSecret`. */
  mask?: (secret: string) => void;
}

export interface ReadOptions {
  /** We just pushed it: retry a 404 a few times (GHCR is eventually consistent). */
  expectExists?: boolean;
}

export interface Manifest {
  descriptor: Descriptor;
  body: Buffer;
  json: Record<string, unknown>;
}

export type Referrers = { supported: true; manifests: Descriptor[] } | { supported: false };

/** containerd's limit: a manifest is small, anything larger is not one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_BLOB_BYTES = 16 * 1024 * 1024;
/** 404 retries after a push, and retries of a blob upload that lost a race. */
const SETTLE_ATTEMPTS = 5;
const MAX_REFERRER_PAGES = 20;

type Sent = HttpResponse & { authDetail?: string };

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Digest of `bytes` with the algorithm `expected` names (sha256 or sha512). */
function digestLike(expected: string, bytes: Buffer): string {
  const alg = expected.split(':')[0];
  if (alg !== 'sha256' && alg !== 'sha512') throw new ActionError(`digest algorithm "${alg}" is not supported (${expected})`);
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}

function mediaTypeOf(res: HttpResponse): string | undefined {
  return res.headers.get('content-type')?.split(';')[0].trim() || undefined;
}

function networkFailure(err: unknown): boolean {
  return err instanceof ActionError && err.cause instanceof HttpError && err.cause.status === undefined;
}

export class RegistryClient {
  /** HTTP requests sent (token requests included; transport-level retries inside http.ts are not). */
  requestCount = 0;
  private readonly auth: RegistryAuth;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs?: number;

  constructor(opts: RegistryClientOptions) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.timeoutMs = opts.timeoutMs;
    this.auth = new RegistryAuth(opts.credentials, (req) => this.http(req), opts.mask ?? core.setSecret);
  }

  async headManifest(repo: Repo, ref: string, opts: ReadOptions = {}): Promise<Descriptor | undefined> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.send(repo, { method: 'HEAD', url: this.url(repo, `manifests/${ref}`), headers: { accept: MANIFEST_ACCEPT } });
      if (res.status === 200) {
        const digest = res.headers.get('docker-content-digest') ?? undefined;
        const mediaType = mediaTypeOf(res);
        const size = Number(res.headers.get('content-length') ?? NaN);
        if (!digest || !mediaType || !Number.isInteger(size) || (isDigest(ref) && digest !== ref)) {
          // Incomplete or odd headers: the body is the truth.
          return (await this.getManifest(repo, ref, opts))?.descriptor;
        }
        return { mediaType, digest, size };
      }
      if (res.status !== 404) throw await this.failure(repo, ref, 'pull', `check ${imageName(repo, ref)}`, res);
      if (!(await this.settle(opts, attempt))) return undefined;
    }
  }

  async getManifest(repo: Repo, ref: string, opts: ReadOptions = {}): Promise<Manifest | undefined> {
    for (let attempt = 1; ; attempt++) {
      const req = { url: this.url(repo, `manifests/${ref}`), headers: { accept: MANIFEST_ACCEPT }, maxBodyBytes: MAX_MANIFEST_BYTES };
      const res = await this.send(repo, req);
      if (res.status === 200) return this.readManifest(repo, ref, res);
      if (res.status !== 404) throw await this.failure(repo, ref, 'pull', `read ${imageName(repo, ref)}`, res);
      if (!(await this.settle(opts, attempt))) return undefined;
    }
  }

  async putManifest(repo: Repo, ref: string, body: Buffer | string, mediaType: string): Promise<Descriptor> {
    const bytes = Buffer.from(body);
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
    if (isDigest(ref) && ref !== descriptor.digest) {
      throw new Error(`putManifest: body digest ${descriptor.digest} differs from the reference ${ref}`);
    }
    for (let attempt = 1; ; attempt++) {
      const req = { method: 'PUT', url: this.url(repo, `manifests/${ref}`), headers: { 'content-type': mediaType }, body: bytes };
      const res = await this.send(repo, req);
      if (res.status >= 200 && res.status < 300) return descriptor;
      // Blobs pushed a moment ago may not be visible yet on eventually consistent registries.
      const blobUnknown = parseRegistryErrors(res.body).some((e) => /BLOB_UNKNOWN/.test(e.code));
      if (!blobUnknown || !(await this.settle({ expectExists: true }, attempt))) {
        throw await this.failure(repo, ref, 'push', `push the manifest ${imageName(repo, ref)}`, res);
      }
    }
  }

  hasBlob(repo: Repo, digest: string): Promise<boolean> {
    return this.blobExists(repo, digest, 'pull');
  }

  /** Uploads `bytes` unless the repository has them: POST a session, then PUT `?digest=` (monolithic). */
  async pushBlob(repo: Repo, bytes: Buffer, mediaType: string = MEDIA_TYPES.octetStream): Promise<Descriptor> {
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
    if (await this.blobExists(repo, descriptor.digest, 'push')) return descriptor;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.uploadOnce(repo, bytes, descriptor.digest);
        if (res.status === 201 || res.status === 204) return descriptor;
      } catch (err) {
        if (!networkFailure(err) || attempt >= SETTLE_ATTEMPTS) throw err;
        res = { status: 0, headers: new Headers(), body: Buffer.alloc(0), url: '' };
      }
      // distribution answers 400/500 when identical bytes are uploaded at the same moment:
      // whoever won stored the blob; otherwise start a new upload session.
      const retryable = res.status === 0 || res.status === 400 || res.status === 404 || res.status === 429 || res.status >= 500;
      if (!retryable || attempt >= SETTLE_ATTEMPTS) {
        throw await this.failure(repo, undefined, 'push', `upload the blob ${descriptor.digest}`, res);
      }
      await this.pause(attempt);
      if (await this.blobExists(repo, descriptor.digest, 'push')) return descriptor;
    }
  }

  async getBlob(repo: Repo, digest: string, maxBytes = DEFAULT_MAX_BLOB_BYTES): Promise<Buffer> {
    const res = await this.send(repo, { url: this.url(repo, `blobs/${digest}`), maxBodyBytes: maxBytes });
    if (res.status === 404) {
      throw new ActionError(`the blob ${digest} is not in the repository`, {
        image: imageName(repo),
        fix: 'the signature or artifact that names it is incomplete; write it again',
      });
    }
    if (res.status !== 200) throw await this.failure(repo, undefined, 'pull', `read the blob ${digest}`, res);
    const actual = digestLike(digest, res.body);
    if (actual !== digest) {
      throw new ActionError(`the registry returned bytes whose digest is ${actual} for the blob ${digest}`, {
        image: imageName(repo),
        fix: 'the registry or a proxy altered the content; retry, and report it to the registry operator if it persists',
      });
    }
    return res.body;
  }

  /** The referrers API, trusted only on a 200 with an OCI index content type. */
  async referrers(repo: Repo, digest: string): Promise<Referrers> {
    const manifests: Descriptor[] = [];
    let url: string | undefined = this.url(repo, `referrers/${digest}`);
    for (let page = 0; url && page < MAX_REFERRER_PAGES; page++) {
      const res: Sent = await this.send(repo, { url, headers: { accept: MEDIA_TYPES.ociIndex }, maxBodyBytes: MAX_MANIFEST_BYTES });
      if (res.status === 401 || res.status === 403) throw await this.failure(repo, digest, 'pull', 'list referrers', res);
      if (res.status !== 200 || mediaTypeOf(res) !== MEDIA_TYPES.ociIndex) return { supported: false };
      const index = JSON.parse(res.body.toString('utf8')) as { manifests?: Descriptor[] };
      manifests.push(...(Array.isArray(index.manifests) ? index.manifests : []));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(res.headers.get('link') ?? '');
      url = next ? new URL(next[1], res.url).toString() : undefined;
    }
    return { supported: true, manifests };
  }

  private url(repo: Repo, path: string): string {
    return `${registryBaseUrl(repo.registry)}/v2/${repo.repository}/${path}`;
  }

  /** `action` is what the caller is about to do, so a refusal names the right permission. */
  private async blobExists(repo: Repo, digest: string, action: 'push' | 'pull'): Promise<boolean> {
    const res = await this.send(repo, { method: 'HEAD', url: this.url(repo, `blobs/${digest}`) });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.failure(repo, undefined, action, `check the blob ${digest}`, res);
  }

  private readManifest(repo: Repo, ref: string, res: HttpResponse): Manifest {
    const computed = isDigest(ref) ? digestLike(ref, res.body) : sha256Digest(res.body);
    const header = res.headers.get('docker-content-digest');
    const expected = isDigest(ref) ? ref : header?.startsWith('sha256:') ? header : computed;
    if (computed !== expected) {
      throw new ActionError(`the registry returned a manifest whose digest is ${computed}, not ${expected}`, {
        image: imageName(repo, ref),
        fix: 'the registry or a proxy altered the content; retry, and report it to the registry operator if it persists',
      });
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

  private async uploadOnce(repo: Repo, bytes: Buffer, digest: string): Promise<HttpResponse> {
    const started = await this.send(repo, { method: 'POST', url: this.url(repo, 'blobs/uploads/'), headers: { 'content-length': '0' } });
    const location = started.headers.get('location');
    if (started.status !== 202 || !location) return started;
    const target = new URL(location, started.url).toString();
    const url = `${target}${target.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    // One attempt: a failed PUT may have consumed the session; pushBlob starts a new one.
    const req = { method: 'PUT', url, headers: { 'content-type': 'application/octet-stream' }, body: bytes, retry: false as const };
    return this.send(repo, req);
  }

  /** Waits before retry `attempt` of an `expectExists` read; false when we should stop. */
  private async settle(opts: ReadOptions, attempt: number): Promise<boolean> {
    if (!opts.expectExists || attempt >= SETTLE_ATTEMPTS) return false;
    await this.pause(attempt);
    return true;
  }

  private pause(attempt: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, this.retry)));
  }

  /** One HTTP request, counted; a network failure becomes "could not reach <host>". */
  private async http(req: HttpRequest): Promise<HttpResponse> {
    this.requestCount++;
    try {
      return await request({ timeoutMs: this.timeoutMs, retry: this.retry, ...req });
    } catch (err) {
      if (err instanceof HttpError && err.status === undefined) throw unreachableError(new URL(req.url).host, err);
      if (err instanceof HttpError) throw new ActionError(err.message, { cause: err });
      throw err;
    }
  }

  /** Sends with the credentials the registry wants, answering up to two 401 challenges. */
  private async send(repo: Repo, req: HttpRequest): Promise<Sent> {
    const registryOrigin = new URL(registryBaseUrl(repo.registry)).origin;
    for (let round = 0; ; round++) {
      const header = await this.auth.header(repo);
      const headers = { ...req.headers };
      // Upload locations may point elsewhere: credentials go to the registry's own origin only.
      if (header && new URL(req.url).origin === registryOrigin) headers.authorization = header;
      let res: HttpResponse;
      try {
        res = await this.http({ ...req, headers });
      } catch (err) {
        // Name the image too: with several images, the host alone may not say which step failed.
        if (networkFailure(err)) throw unreachableError(new URL(req.url).host, (err as ActionError).cause as HttpError, imageName(repo));
        throw err;
      }
      if (res.status !== 401 || round >= 2) return res;
      const outcome = await this.auth.unauthorized(repo, res, headers.authorization);
      if (!outcome.retry) return { ...res, authDetail: outcome.detail };
    }
  }

  private async failure(repo: Repo, ref: string | undefined, action: 'push' | 'pull', doing: string, res: Sent): Promise<ActionError> {
    if (res.status === 401 || res.status === 403) {
      const credential = await this.auth.credential(repo.registry);
      return accessDeniedError({ repo, ref, action, res, credential, detail: res.authDetail, redact: this.auth.redact });
    }
    return unexpectedStatusError(repo, ref, doing, res, this.auth.redact);
  }
}
