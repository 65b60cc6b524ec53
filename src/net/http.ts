/**
 * The one HTTP stack every network call of the action goes through: per-request
 * timeouts, retries with exponential backoff and jitter inside a total time
 * budget, Retry-After, and redirects that never carry credentials to another host.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First backoff in ms; doubles each retry, with full jitter. */
  baseDelayMs: number;
  /** Largest single wait in ms. */
  maxDelayMs: number;
  /** Wall-clock budget in ms for the whole call, waits included. */
  budgetMs: number;
  /** Statuses retried besides network errors (default: 408, 429, 5xx). */
  retryStatus?: (status: number) => boolean;
}

export interface HttpRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Per-attempt timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Retry policy; `false` for a single attempt. */
  retry?: RetryPolicy | false;
  /** Latest moment (epoch ms) a retry may still start, e.g. the certificate's expiry. */
  deadline?: number;
  /** Largest body accepted, in bytes (default 16 MiB): bounds memory on hostile answers. */
  maxBodyBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  url: string;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    readonly body?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8000,
  budgetMs: 60_000,
};

const defaultRetryStatus = (s: number): boolean => s === 408 || s === 429 || s >= 500;

/** Waits between attempts; tests and the bench may shorten it. */
let sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export function setSleepForTests(fn: (ms: number) => Promise<void>): void {
  sleep = fn;
}

/** Parses Retry-After (seconds or an HTTP date) into ms, or undefined. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Backoff for retry number `n` (1-based): full jitter over an exponential cap. */
export function backoffMs(n: number, policy: RetryPolicy, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

async function readBody(res: Response, limit: number, url: string): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) {
      throw new HttpError(`response from ${url} is larger than ${limit} bytes; refusing to read it`, url, res.status);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

const SENSITIVE_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

async function once(req: HttpRequest): Promise<HttpResponse> {
  let url = req.url;
  let headers = { ...(req.headers ?? {}) };
  let method = req.method ?? 'GET';
  let body: Buffer | string | undefined = req.body;
  for (let hop = 0; hop < 5; hop++) {
    const res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs ?? 30_000),
    });
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.get('location')) {
      await res.body?.cancel();
      const next = new URL(res.headers.get('location') as string, url);
      // Credentials go only to the host that asked for them, never along a redirect.
      if (next.host !== new URL(url).host) {
        headers = Object.fromEntries(
          Object.entries(headers).filter(([k]) => !SENSITIVE_HEADERS.includes(k.toLowerCase())),
        );
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next.toString();
      continue;
    }
    const buf = method === 'HEAD' ? Buffer.alloc(0) : await readBody(res, req.maxBodyBytes ?? 16 * 1024 * 1024, url);
    return { status: res.status, headers: res.headers, body: buf, url };
  }
  throw new HttpError(`too many redirects from ${req.url}`, req.url);
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  if (e?.cause?.code) return e.cause.code;
  return e?.cause?.message ?? e?.message ?? String(err);
}

/**
 * Sends a request, retrying network errors and retryable statuses within the
 * policy's budget. Returns the last response even when its status is an error:
 * callers decide what a status means; only network failures throw.
 */
export async function request(req: HttpRequest): Promise<HttpResponse> {
  const policy = req.retry === false ? { ...DEFAULT_RETRY, attempts: 1 } : (req.retry ?? DEFAULT_RETRY);
  const retryStatus = policy.retryStatus ?? defaultRetryStatus;
  const started = Date.now();
  const endBy = Math.min(started + policy.budgetMs, req.deadline ?? Infinity);
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    let wait: number | undefined;
    try {
      const res = await once(req);
      if (!retryStatus(res.status) || attempt >= policy.attempts) return res;
      wait = retryAfterMs(res.headers.get('retry-after')) ?? backoffMs(attempt, policy);
      if (Date.now() + wait > endBy) return res;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      lastError = err;
      wait = backoffMs(attempt, policy);
      if (attempt >= policy.attempts || Date.now() + wait > endBy) {
        const host = new URL(req.url).host;
        throw new HttpError(
          `could not reach ${host} (${describe(err)}) after ${attempt} attempt${attempt > 1 ? 's' : ''}`,
          req.url,
          undefined,
          undefined,
          { cause: lastError },
        );
      }
    }
    await sleep(wait);
  }
}

/** Parses a JSON body, naming the URL when it is not JSON. */
export function jsonBody<T>(res: HttpResponse): T {
  try {
    return JSON.parse(res.body.toString('utf8')) as T;
  } catch {
    throw new HttpError(`expected JSON from ${res.url}, got: ${res.body.toString('utf8').slice(0, 200)}`, res.url, res.status);
  }
}
