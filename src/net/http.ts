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

/** Why request() stopped retrying: the attempts ran out, the budget, or the caller's deadline. */
export type GaveUp = 'attempts' | 'budget' | 'deadline';

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  url: string;
  /** Attempts it took (1 without retries); absent on responses not made by request(). */
  attempts?: number;
  /** Set when this is a retryable status we stopped retrying, and why. */
  gaveUp?: GaveUp;
}

export class HttpError extends Error {
  readonly attempts?: number;
  readonly gaveUp?: GaveUp;

  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    readonly body?: string,
    options?: { cause?: unknown; attempts?: number; gaveUp?: GaveUp },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.attempts = options?.attempts;
    this.gaveUp = options?.gaveUp;
  }
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8000,
  budgetMs: 60_000,
};

/** Per-attempt timeout when the caller names none: no request may hang the run. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** A retry with less time than this left before the budget or deadline is not worth starting (tiny budgets: a tenth of it). */
const MIN_ATTEMPT_MS = 1000;

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
  // Counted as it streams in, whatever Content-Length claims: memory stays bounded on hostile answers.
  if (Number(res.headers.get('content-length')) > limit) {
    await res.body.cancel();
    throw new HttpError(`response from ${url} is larger than ${limit} bytes; refusing to read it`, url, res.status);
  }
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

/** Scheme, host and port: credentials stay with the origin they were meant for. */
const originOf = (url: string): string => new URL(url).origin;

async function once(req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
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
      // One signal for headers and body: a server that stalls mid-body times out too.
      signal: AbortSignal.timeout(timeoutMs),
    });
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.get('location')) {
      await res.body?.cancel();
      const next = new URL(res.headers.get('location') as string, url);
      // Credentials go only to the origin they were meant for, never along a redirect to
      // another host, port or scheme (https → http would send them in the clear).
      if (next.origin !== originOf(url)) {
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

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (e?.cause?.code) return e.cause.code;
  return e?.cause?.message ?? e?.message ?? String(err);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Sends a request, retrying network errors (resets, timeouts) and retryable
 * statuses (408, 429, 5xx) with exponential backoff and full jitter, honouring
 * Retry-After, until the attempts, the policy's budget or the caller's deadline
 * run out; an attempt's timeout is cut to what is left of them, so no retry
 * outlives the deadline. Returns the last response even when its status is an
 * error: callers decide what a status means; only network failures throw.
 */
export async function request(req: HttpRequest): Promise<HttpResponse> {
  const policy = req.retry === false ? { ...DEFAULT_RETRY, attempts: 1 } : (req.retry ?? DEFAULT_RETRY);
  const retryStatus = policy.retryStatus ?? defaultRetryStatus;
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = Date.now();
  const deadline = req.deadline ?? Infinity;
  const endBy = Math.min(started + policy.budgetMs, deadline);
  const limit: GaveUp = deadline <= started + policy.budgetMs ? 'deadline' : 'budget';
  const margin = Math.min(MIN_ATTEMPT_MS, policy.budgetMs / 10);
  const host = new URL(req.url).host;
  if (started >= deadline) {
    throw new HttpError(`did not send to ${host}: its deadline ${new Date(deadline).toISOString()} has passed`, req.url, undefined, undefined, {
      attempts: 0,
      gaveUp: 'deadline',
    });
  }
  // Why not to try again after `attempt`, waiting `wait` ms; undefined: try again.
  const stop = (attempt: number, wait: number): GaveUp | undefined =>
    attempt >= policy.attempts ? 'attempts' : Date.now() + wait + margin > endBy ? limit : undefined;
  for (let attempt = 1; ; attempt++) {
    const attemptTimeout = Math.max(1, Math.min(timeoutMs, endBy - Date.now()));
    let wait: number;
    try {
      const res = await once(req, attemptTimeout);
      if (!retryStatus(res.status)) return { ...res, attempts: attempt };
      wait = retryAfterMs(res.headers.get('retry-after')) ?? backoffMs(attempt, policy);
      const gaveUp = stop(attempt, wait);
      if (gaveUp) return { ...res, attempts: attempt, gaveUp };
    } catch (err) {
      if (err instanceof HttpError) throw err;
      wait = backoffMs(attempt, policy);
      const gaveUp = stop(attempt, wait);
      if (gaveUp) {
        const why = gaveUp === 'deadline' ? `; stopped at the deadline ${new Date(deadline).toISOString()}` : '';
        throw new HttpError(`could not reach ${host} (${describe(err, attemptTimeout)}) after ${plural(attempt, 'attempt')}${why}`, req.url, undefined, undefined, {
          cause: err,
          attempts: attempt,
          gaveUp,
        });
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
