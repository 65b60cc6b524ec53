/**
 * Our OCI distribution client: manifests, blobs and the referrers API, over
 * src/net/http.ts (timeouts, retries, redirects without credentials), with the
 * auth of ./auth.ts. Everything read by digest is checked against that digest.
 */
import * as core from '@actions/core';
import { ActionError } from '../errors.js';
import { backoffMs, DEFAULT_RETRY, HttpError, request, retryAfterMs, type HttpRequest, type HttpResponse, type RetryPolicy } from '../net/http.js';
import { RegistryAuth } from './auth.js';
import { checkedBlob, checkedManifest, isExactOciIndexAnswer, mediaTypeOf, sha256Digest, type Manifest } from './content.js';
import type { CredentialResolver } from './credentials.js';
import { accessDeniedError, isTransientStatus, parseRegistryErrors, unexpectedStatusError, unreachableError } from './errors.js';
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

export interface WriteOptions {
  /**
   * One attempt, no retries here: a retryable failure is thrown as a
   * TransientRegistryError for the caller to re-read and merge before writing
   * again (a retried PUT of a tag could overwrite what another writer put there meanwhile).
   */
  once?: boolean;
  /** With `once`: which try of the caller's this is, for the message ("after 3 attempts"). */
  attempt?: number;
}

export { sha256Digest, type Manifest } from './content.js';

export type Referrers = { supported: true; manifests: Descriptor[] } | { supported: false };

/** containerd's limit: a manifest is small, anything larger is not one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_BLOB_BYTES = 16 * 1024 * 1024;
/** 404 retries after a push, and retries of a blob upload that lost a race. */
const SETTLE_ATTEMPTS = 5;
const MAX_REFERRER_PAGES = 20;

type Sent = HttpResponse & { authDetail?: string };

function hasSubject(manifest: Buffer): boolean {
  try {
    return typeof (JSON.parse(manifest.toString('utf8')) as { subject?: unknown }).subject === 'object';
  } catch {
    return false;
  }
}

function networkFailure(err: unknown): boolean {
  return err instanceof ActionError && err.cause instanceof HttpError && err.cause.status === undefined;
}

export class RegistryClient {
  /** HTTP requests sent (token requests included; transport-level retries inside http.ts are not). */
  requestCount = 0;
  private readonly noReferrersApi = new Set<string>();
  private readonly auth: RegistryAuth;
  /** Blobs this run pushed (`registry/repository@digest`): a 404 on reading one is lag, worth a few retries. */
  private readonly pushed = new Set<string>();
  /** Blobs known to be stored (uploaded or found) this run: asked about once. */
  private readonly stored = new Set<string>();

  private remember(key: string, descriptor: Descriptor): Descriptor {
    this.stored.add(key);
    return descriptor;
  }
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
      if (res.status === 200) return checkedManifest(repo, ref, res);
      if (res.status !== 404) throw await this.failure(repo, ref, 'pull', `read ${imageName(repo, ref)}`, res);
      if (!(await this.settle(opts, attempt))) return undefined;
    }
  }

  async putManifest(repo: Repo, ref: string, body: Buffer | string, mediaType: string, opts: WriteOptions = {}): Promise<Descriptor> {
    const bytes = Buffer.from(body);
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
    if (isDigest(ref) && ref !== descriptor.digest) {
      throw new Error(`putManifest: body digest ${descriptor.digest} differs from the reference ${ref}`);
    }
    const doing = `push the manifest ${imageName(repo, ref)}`;
    for (let attempt = 1; ; attempt++) {
      const req: HttpRequest = { method: 'PUT', url: this.url(repo, `manifests/${ref}`), headers: { 'content-type': mediaType }, body: bytes };
      if (opts.once) req.retry = false;
      const res = await this.send(repo, req);
      if (res.status >= 200 && res.status < 300) {
        // A registry with the referrers API answers a manifest with a subject with OCI-Subject
        // (distribution spec 1.1); without it the spec has clients keep the referrers tag, and
        // the API is not asked about (some registries send the header without a usable API, so
        // its presence proves nothing: referrers() still checks).
        if (!res.headers.get('oci-subject') && hasSubject(bytes)) this.noReferrersApi.add(repo.registry);
        return descriptor;
      }
      // Blobs pushed a moment ago may not be visible yet on eventually consistent registries.
      const blobUnknown = parseRegistryErrors(res.body).some((e) => /BLOB_UNKNOWN/.test(e.code));
      if (opts.once && (blobUnknown || isTransientStatus(res.status))) {
        throw unexpectedStatusError(repo, ref, doing, { ...res, attempts: opts.attempt }, this.auth.redact, true);
      }
      if (!blobUnknown || !(await this.settle({ expectExists: true }, attempt))) throw await this.failure(repo, ref, 'push', doing, res);
    }
  }

  hasBlob(repo: Repo, digest: string): Promise<boolean> {
    return this.blobExists(repo, digest, 'pull');
  }

  /**
   * Uploads a blob: POST a session, then PUT `?digest=` (monolithic).
   * `checkExists` (default) makes the POST ask to mount the blob from this very
   * repository: a registry that has it answers 201 and nothing is uploaded;
   * otherwise (or when it cannot mount) it answers 202 with the session we need
   * anyway (distribution spec), so a blob already there costs one request and a
   * new one two, where a HEAD first would cost one and three. Callers turn it
   * off for blobs that are new by construction (a fresh signature's payload, a
   * config for a new layer list): there is nothing to find.
   */
  async pushBlob(repo: Repo, bytes: Buffer, mediaType: string = MEDIA_TYPES.octetStream, opts: { checkExists?: boolean } = {}): Promise<Descriptor> {
    return (await this.uploadBlob(repo, bytes, mediaType, opts)).descriptor;
  }

  /** pushBlob, also saying whether the repository had the blob already (found by the mount, or known this run). */
  async uploadBlob(repo: Repo, bytes: Buffer, mediaType: string = MEDIA_TYPES.octetStream, opts: { checkExists?: boolean } = {}): Promise<{ descriptor: Descriptor; existed: boolean }> {
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
    const key = `${imageName(repo)}@${descriptor.digest}`;
    this.pushed.add(key);
    // Known to be there already this run (e.g. the empty config every bundle referrer shares): no request at all.
    if ((opts.checkExists ?? true) && this.stored.has(key)) return { descriptor: this.remember(key, descriptor), existed: true };
    const endBy = Date.now() + this.retry.budgetMs;
    let networkError: unknown;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        // After a failed attempt the blob may have landed (ours, or another job's): the mount finds it.
        const sent = await this.uploadOnce(repo, bytes, descriptor.digest, (opts.checkExists ?? true) || attempt > 1);
        res = sent.res;
        if (res.status === 201 || res.status === 204) return { descriptor: this.remember(key, descriptor), existed: sent.mounted && attempt === 1 };
      } catch (err) {
        // A connection reset mid-upload, or a timeout: the session is spent, start another.
        if (!networkFailure(err)) throw err;
        networkError = err;
        res = { status: 0, headers: new Headers(), body: Buffer.alloc(0), url: '' };
      }
      // distribution answers 400/500 when identical bytes are uploaded at the same moment:
      // whoever won stored the blob; otherwise start a new upload session.
      const retryable = res.status === 0 || res.status === 400 || res.status === 404 || isTransientStatus(res.status);
      const wait = retryAfterMs(res.headers.get('retry-after')) ?? backoffMs(attempt, this.retry);
      if (!retryable || attempt >= SETTLE_ATTEMPTS || Date.now() + wait > endBy) {
        if (res.status === 0) throw networkError;
        throw await this.failure(repo, undefined, 'push', `upload the blob ${descriptor.digest}`, { ...res, attempts: attempt });
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** A 404 for a blob this run pushed is retried a few times: eventually consistent registries show it a moment later. */
  async getBlob(repo: Repo, digest: string, maxBytes = DEFAULT_MAX_BLOB_BYTES): Promise<Buffer> {
    const expectExists = this.pushed.has(`${imageName(repo)}@${digest}`);
    for (let attempt = 1; ; attempt++) {
      const res = await this.send(repo, { url: this.url(repo, `blobs/${digest}`), maxBodyBytes: maxBytes });
      if (res.status === 404 && (await this.settle({ expectExists }, attempt))) continue;
      if (res.status === 404) {
        throw new ActionError(`the blob ${digest} is not in the repository`, {
          image: imageName(repo),
          fix: 'the signature or artifact that names it is incomplete; write it again',
        });
      }
      if (res.status !== 200) throw await this.failure(repo, undefined, 'pull', `read the blob ${digest}`, res);
      return checkedBlob(repo, digest, res.body);
    }
  }

  /** The referrers API, trusted only on a 200 with exactly the OCI index content type (no parameters). */
  async referrers(repo: Repo, digest: string): Promise<Referrers> {
    // A registry without the API does not grow one during a run: ask each host once.
    if (this.noReferrersApi.has(repo.registry)) return { supported: false };
    const manifests: Descriptor[] = [];
    let url: string | undefined = this.url(repo, `referrers/${digest}`);
    for (let page = 0; url && page < MAX_REFERRER_PAGES; page++) {
      const res: Sent = await this.send(repo, { url, headers: { accept: MEDIA_TYPES.ociIndex }, maxBodyBytes: MAX_MANIFEST_BYTES });
      if (res.status === 401 || res.status === 403) throw await this.failure(repo, digest, 'pull', 'list referrers', res);
      if (res.status !== 200 || !isExactOciIndexAnswer(res)) {
        this.noReferrersApi.add(repo.registry);
        return { supported: false };
      }
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

  /** One POST (asking to `mount` the blob from this repository when it may be there) and, unless mounted, one PUT. */
  private async uploadOnce(repo: Repo, bytes: Buffer, digest: string, mount: boolean): Promise<{ res: HttpResponse; mounted: boolean }> {
    const query = mount ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(repo.repository)}` : '';
    const started = await this.send(repo, { method: 'POST', url: this.url(repo, `blobs/uploads/${query}`), headers: { 'content-length': '0' } });
    const location = started.headers.get('location');
    if (started.status !== 202 || !location) return { res: started, mounted: mount && started.status === 201 };
    const target = new URL(location, started.url).toString();
    const url = `${target}${target.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    // One attempt: a failed PUT may have consumed the session; pushBlob starts a new one.
    const req = { method: 'PUT', url, headers: { 'content-type': 'application/octet-stream' }, body: bytes, retry: false as const };
    return { res: await this.send(repo, req), mounted: false };
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
      // An answer over the size limit: memory stays bounded, and the person learns what was refused.
      if (err instanceof HttpError) {
        throw new ActionError(err.message, { fix: 'check what the registry serves there: no manifest or signature is that large', cause: err });
      }
      throw err;
    }
  }

  /** Sends with the credentials the registry wants, answering up to two 401 challenges. */
  private async send(repo: Repo, req: HttpRequest): Promise<Sent> {
    const release = await this.auth.admit(repo.registry);
    try {
      return await this.sendAuthorized(repo, req, release);
    } finally {
      release?.();
    }
  }

  /** `answered`: called once the first answer (and any challenge in it) has been dealt with. */
  private async sendAuthorized(repo: Repo, req: HttpRequest, answered?: () => void): Promise<Sent> {
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
      answered?.();
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
