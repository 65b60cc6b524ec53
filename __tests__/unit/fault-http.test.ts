/**
 * src/net/http.ts under faults, against small loopback servers: timeouts on a
 * server that never answers or stalls mid-body, resets retried, Retry-After
 * honoured, retries that stop at the budget or the caller's deadline (and an
 * attempt cut short so it does not outlive it), bodies bounded, credentials
 * dropped on a redirect to another origin.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { DEFAULT_TIMEOUT_MS, request, setSleepForTests, type RetryPolicy } from '../../src/net/http.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

interface TestServer {
  url: string;
  /** Requests received so far. */
  count(): number;
  headers: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function serve(handler: Handler): Promise<TestServer> {
  let n = 0;
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    headers.push(req.headers);
    handler(req, res, ++n);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => n,
    headers,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const quick: RetryPolicy = { attempts: 4, baseDelayMs: 20, maxDelayMs: 50, budgetMs: 10_000 };
const servers: TestServer[] = [];
const start = async (h: Handler): Promise<TestServer> => {
  const s = await serve(h);
  servers.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  jest.restoreAllMocks();
});

/** How long `p` took, and what it gave or threw. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t, value };
  } catch (error) {
    return { ms: Date.now() - t, error };
  }
}

describe('timeouts: no request can hang the run', () => {
  it('gives up on a server that never answers after the per-attempt timeout', async () => {
    const hung = await start(() => undefined);
    const { ms, error } = await timed(request({ url: `${hung.url}/x`, timeoutMs: 200, retry: false }));
    expect(String(error)).toMatch(/could not reach 127\.0\.0\.1:\d+ \(timed out after 200 ms\) after 1 attempt/);
    expect(ms).toBeLessThan(2000);
  });

  it('gives up on a server that sends headers and then stalls mid-body', async () => {
    const stalled = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    });
    const { ms, error } = await timed(request({ url: `${stalled.url}/x`, timeoutMs: 300, retry: false }));
    expect(String(error)).toMatch(/timed out after 300 ms/);
    expect(ms).toBeLessThan(2000);
  });

  it('retries a timed-out attempt, then succeeds', async () => {
    const slowOnce = await start((_req, res, n) => {
      if (n > 1) res.end('ok');
    });
    const res = await request({ url: `${slowOnce.url}/x`, timeoutMs: 200, retry: quick });
    expect([res.status, res.body.toString(), res.attempts, slowOnce.count()]).toEqual([200, 'ok', 2, 2]);
  });

  it('applies a 30 s timeout when the caller names none', async () => {
    const ok = await start((_req, res) => res.end('ok'));
    const timeout = jest.spyOn(AbortSignal, 'timeout');
    await request({ url: `${ok.url}/x` });
    expect(DEFAULT_TIMEOUT_MS).toBe(30_000);
    expect(timeout).toHaveBeenCalledWith(30_000);
  });
});

describe('retries', () => {
  it('retries a connection reset', async () => {
    const flaky = await start((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else res.end('ok');
    });
    const res = await request({ method: 'POST', url: `${flaky.url}/x`, body: 'payload', retry: quick });
    expect([res.status, res.attempts]).toEqual([200, 2]);
  });

  it('waits what a 429 Retry-After asks, not the backoff', async () => {
    const waits: number[] = [];
    setSleepForTests(async (ms) => void waits.push(ms));
    try {
      const throttled = await start((_req, res, n) => (n === 1 ? res.writeHead(429, { 'retry-after': '3' }).end() : res.end('ok')));
      const res = await request({ url: `${throttled.url}/x`, retry: quick });
      expect([res.status, waits]).toEqual([200, [3000]]);
    } finally {
      setSleepForTests((ms) => new Promise((r) => setTimeout(r, ms)));
    }
  });

  it('stops at the budget and says why, returning the last answer', async () => {
    const down = await start((_req, res) => res.writeHead(503).end('down'));
    const res = await request({ url: `${down.url}/x`, retry: { attempts: 100, baseDelayMs: 50, maxDelayMs: 100, budgetMs: 600 } });
    expect([res.status, res.gaveUp]).toEqual([503, 'budget']);
    expect(res.attempts).toBeGreaterThan(2);
    expect(res.attempts).toBeLessThan(100);
  });

  it('stops at the deadline, before the budget', async () => {
    const down = await start((_req, res) => res.writeHead(503).end('down'));
    const { ms, value } = await timed(request({ url: `${down.url}/x`, retry: { ...quick, attempts: 100 }, deadline: Date.now() + 2000 }));
    expect(value?.gaveUp).toBe('deadline');
    expect(value?.attempts).toBeGreaterThan(2);
    expect(ms).toBeLessThan(2000);
  });

  it('cuts an attempt short so that it does not outlive the deadline', async () => {
    const hung = await start(() => undefined);
    const { ms, error } = await timed(request({ url: `${hung.url}/x`, timeoutMs: 30_000, retry: quick, deadline: Date.now() + 400 }));
    expect(String(error)).toMatch(/timed out after \d+ ms\) after 1 attempt; stopped at the deadline/);
    expect(ms).toBeLessThan(1500);
  });

  it('sends nothing once the deadline has passed', async () => {
    const ok = await start((_req, res) => res.end('ok'));
    await expect(request({ url: `${ok.url}/x`, deadline: Date.now() - 1 })).rejects.toThrow(/deadline .* has passed/);
    expect(ok.count()).toBe(0);
  });
});

describe('bounded bodies', () => {
  it('stops reading a body that never ends at the limit', async () => {
    const endless = await start((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const { ms, error } = await timed(request({ url: `${endless.url}/x`, maxBodyBytes: 1024 * 1024 }));
    expect(String(error)).toMatch(/larger than 1048576 bytes; refusing to read it/);
    expect(ms).toBeLessThan(5000);
  });

  it('refuses a body whose Content-Length is over the limit without reading it', async () => {
    const big = await start((_req, res) => res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }).write('x'));
    await expect(request({ url: `${big.url}/x`, maxBodyBytes: 1024, timeoutMs: 5000 })).rejects.toThrow(/larger than 1024 bytes/);
  });
});

describe('redirects keep credentials at their origin', () => {
  it('drops them for another port of the same host, keeps them on the same origin', async () => {
    const other = await start((_req, res) => res.end('elsewhere'));
    const origin = await start((req, res) => {
      if (req.url === '/same') res.writeHead(307, { location: '/landing' }).end();
      else if (req.url === '/away') res.writeHead(307, { location: `${other.url}/landing` }).end();
      else res.end('here');
    });
    await request({ url: `${origin.url}/same`, headers: { Authorization: 'Bearer s3cret', Cookie: 'c=1' } });
    expect(origin.headers.map((h) => h.authorization)).toEqual(['Bearer s3cret', 'Bearer s3cret']);
    const res = await request({ url: `${origin.url}/away`, headers: { Authorization: 'Bearer s3cret', Cookie: 'c=1', 'X-Keep': 'yes' } });
    expect(res.body.toString()).toBe('elsewhere');
    expect(other.headers).toHaveLength(1);
    expect(other.headers[0]).toMatchObject({ 'x-keep': 'yes' });
    expect(other.headers[0].authorization).toBeUndefined();
    expect(other.headers[0].cookie).toBeUndefined();
  });
});
