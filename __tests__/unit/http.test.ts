import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { backoffMs, request, retryAfterMs, setSleepForTests } from '../../src/net/http.js';

describe('retry timing', () => {
  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
  it('backs off exponentially with jitter, capped', () => {
    const p = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000, budgetMs: 10_000 };
    expect(backoffMs(1, p, () => 0)).toBe(50);
    expect(backoffMs(3, p, () => 1)).toBe(400);
    expect(backoffMs(10, p, () => 1)).toBe(1000);
  });
});

describe('request', () => {
  let server: http.Server;
  let base: string;
  const seen: { url: string; auth?: string }[] = [];
  let failures = 0;
  const waits: number[] = [];

  beforeAll(async () => {
    setSleepForTests(async (ms) => {
      waits.push(ms);
    });
    server = http.createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      if (req.url === '/flaky' && failures-- > 0) {
        res.writeHead(503, { 'retry-after': '2' }).end('busy');
      } else if (req.url === '/redirect-away') {
        res.writeHead(307, { location: `http://localhost:${(server.address() as AddressInfo).port}/landing` }).end();
      } else if (req.url === '/big') {
        res.end(Buffer.alloc(2048));
      } else {
        res.end('ok');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    setSleepForTests((ms) => new Promise((r) => setTimeout(r, ms)));
    await new Promise((r) => server.close(r));
  });

  it('retries 503 honouring Retry-After, then succeeds', async () => {
    failures = 2;
    waits.length = 0;
    const res = await request({ url: `${base}/flaky` });
    expect(res.status).toBe(200);
    expect(waits).toEqual([2000, 2000]);
  });

  it('returns the last error status when the attempts run out', async () => {
    failures = 10;
    const res = await request({ url: `${base}/flaky`, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 60_000 } });
    expect(res.status).toBe(503);
  });

  it('drops credentials on a redirect to another host', async () => {
    seen.length = 0;
    const res = await request({ url: `${base}/redirect-away`, headers: { Authorization: 'Bearer secret' } });
    expect(res.status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(['/redirect-away', '/landing']);
    expect(seen[0].auth).toBe('Bearer secret');
    expect(seen[1].auth).toBeUndefined();
  });

  it('refuses bodies over the limit', async () => {
    await expect(request({ url: `${base}/big`, maxBodyBytes: 1024 })).rejects.toThrow(/larger than 1024/);
  });

  it('names the host when it cannot connect', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(
      request({ url: `http://127.0.0.1:${port}/x`, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1000 } }),
    ).rejects.toThrow(new RegExp(`could not reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\) after 2 attempts`));
  });
});
