/**
 * A fault-injecting HTTP proxy for the sandbox: put it between the action and a
 * registry, Fulcio, Rekor or the OIDC issuer (point the action at its URL), then
 * drive it from the test: "the first 2 manifest PUTs answer 503", "the next blob
 * upload gets 429 with Retry-After: 1", "reset the connection mid-upload",
 * "answer every HEAD 300 ms late", "redirect blob reads to another host", "send
 * an endless body". Everything not faulted is relayed unchanged, the Host header
 * included (so the registry's upload locations point back at the proxy), and
 * every exchange is logged with its time, headers and status, for assertions.
 * Loopback only, on a free port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a fault sees of the request (the body only for faults that need it: `status` with a body function). */
export interface ProxiedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Fault =
  /** Answer this status without asking upstream (503, 429 with `retry-after`, 400 echoing the request…). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string | ((req: ProxiedRequest) => string) }
  /** Drop the connection without an answer: once some of the request body has arrived (`mid-request`), or after upstream handled it (the request landed, the answer is lost). */
  | { kind: 'reset'; when: 'mid-request' | 'after-upstream' }
  /** Relay, but only after `ms` (a slow registry or log). */
  | { kind: 'delay'; ms: number }
  /** Never answer (until the proxy stops): for timeouts. */
  | { kind: 'hang' }
  /** Answer 307 to the same path on another base URL (a CDN, another host). */
  | { kind: 'redirect'; to: string; status?: number }
  /** Answer 200 with a body that never ends (a hostile or broken server), `content-type` as given. */
  | { kind: 'endless'; contentType: string }
  /** Relay, changing the response headers on the way back (e.g. an upload Location on another host). */
  | { kind: 'rewrite'; headers: (headers: http.IncomingHttpHeaders) => http.OutgoingHttpHeaders };

export interface FaultRule {
  /** Methods matched (any when absent). */
  method?: string | string[];
  /** Path (with query) matched (any when absent). */
  path?: RegExp;
  /** Matching requests let through unharmed before the fault starts (default 0). */
  skip?: number;
  /** How many matching requests get the fault (default: all). */
  times?: number;
  fault: Fault;
}

export interface RuleHandle {
  /** Requests this rule faulted so far. */
  hits(): number;
  remove(): void;
}

export interface Exchange {
  /** ms since the epoch when the request arrived. */
  at: number;
  method: string;
  path: string;
  /** Request headers as the proxy received them (credentials included: tests look for leaks). */
  headers: http.IncomingHttpHeaders;
  /** Status sent back; undefined when the connection was reset or hung. */
  status?: number;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
  /** The first 64 KiB of what was sent back. */
  responseBody: Buffer;
}

export interface FaultProxy {
  /** `127.0.0.1:<port>`: what goes in image references. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  inject(rule: FaultRule): RuleHandle;
  /** Removes every rule (the log is kept). */
  clear(): void;
  /** Every exchange so far, oldest first. */
  log: Exchange[];
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Headers added to every relayed request (e.g. credentials of a CDN that the client must not need). */
  upstreamHeaders?: Record<string, string>;
}

const LOGGED_BODY_BYTES = 64 * 1024;
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

interface LiveRule extends FaultRule {
  seen: number;
  applied: number;
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  const methods = rule.method === undefined ? undefined : [rule.method].flat().map((m) => m.toUpperCase());
  return (!methods || methods.includes(method)) && (!rule.path || rule.path.test(path));
}

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) req.destroy(new Error('request body too large for the fault proxy'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startFaultProxy(upstream: string, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: LiveRule[] = [];
  const log: Exchange[] = [];
  const agent = new http.Agent({ keepAlive: false });

  /** The first rule that matches and still has faults to give, counting every match. */
  const pick = (method: string, path: string): Fault | undefined => {
    for (const rule of rules) {
      if (!matches(rule, method, path)) continue;
      rule.seen++;
      if (rule.seen <= (rule.skip ?? 0) || rule.applied >= (rule.times ?? Infinity)) continue;
      rule.applied++;
      return rule.fault;
    }
    return undefined;
  };

  const capture = (entry: Exchange, chunk: Buffer): void => {
    if (entry.responseBody.length < LOGGED_BODY_BYTES) {
      entry.responseBody = Buffer.concat([entry.responseBody, chunk.subarray(0, LOGGED_BODY_BYTES - entry.responseBody.length)]);
    }
  };

  const answer = (res: http.ServerResponse, entry: Exchange, status: number, headers: http.OutgoingHttpHeaders, body: Buffer): void => {
    entry.status = status;
    capture(entry, body);
    res.writeHead(status, { 'content-length': body.length, ...headers });
    res.end(body);
  };

  /** Sends the request upstream; resolves with the upstream response, not yet read. */
  const relay = (req: http.IncomingMessage, body: Buffer): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, ...opts.upstreamHeaders }, agent },
        resolve,
      );
      up.on('error', reject);
      up.end(body);
    });

  const forward = async (req: http.IncomingMessage, res: http.ServerResponse, entry: Exchange, body: Buffer, fault?: Fault): Promise<void> => {
    const upRes = await relay(req, body);
    if (fault?.kind === 'reset') {
      upRes.resume();
      await new Promise((r) => upRes.on('end', r));
      req.socket.destroy();
      return;
    }
    // Hop-by-hop headers describe the proxy's own upstream connection, not the client's.
    const { connection: _c, 'keep-alive': _k, ...relayed } = upRes.headers;
    const headers = fault?.kind === 'rewrite' ? fault.headers(relayed) : relayed;
    entry.status = upRes.statusCode ?? 502;
    res.writeHead(entry.status, headers);
    upRes.on('data', (c: Buffer) => capture(entry, c));
    upRes.pipe(res);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url ?? '/';
    const entry: Exchange = { at: Date.now(), method, path, headers: req.headers, responseBody: Buffer.alloc(0) };
    log.push(entry);
    const fault = pick(method, path);
    entry.fault = fault?.kind;
    if (fault?.kind === 'reset' && fault.when === 'mid-request') {
      // Some of the upload has arrived (or all of a small one): cut the connection before answering.
      const cut = (): void => void req.socket.destroy();
      req.once('data', cut);
      req.once('end', cut);
      return;
    }
    if (fault?.kind === 'hang') return;
    const body = await readAll(req);
    switch (fault?.kind) {
      case 'status': {
        const text = typeof fault.body === 'function' ? fault.body({ method, path, headers: req.headers, body }) : (fault.body ?? '');
        return answer(res, entry, fault.status, { 'content-type': 'application/json', ...fault.headers }, Buffer.from(text));
      }
      case 'redirect':
        return answer(res, entry, fault.status ?? 307, { location: new URL(path, fault.to).toString() }, Buffer.alloc(0));
      case 'endless':
        return endless(res, entry, fault.contentType);
      case 'delay':
        await new Promise((r) => setTimeout(r, fault.ms));
        return forward(req, res, entry, body);
      default:
        return forward(req, res, entry, body, fault);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`fault proxy: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    host,
    url: `http://${host}`,
    log,
    inject(rule) {
      const live: LiveRule = { ...rule, seen: 0, applied: 0 };
      rules.push(live);
      return {
        hits: () => live.applied,
        remove: () => {
          const i = rules.indexOf(live);
          if (i >= 0) rules.splice(i, 1);
        },
      };
    },
    clear: () => void rules.splice(0),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      })),
  };
}

/** 200 and 64 KiB chunks for as long as the client keeps reading. */
function endless(res: http.ServerResponse, entry: Exchange, contentType: string): void {
  entry.status = 200;
  res.writeHead(200, { 'content-type': contentType });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

/** Matches registry API paths: `/v2/<name>/<kind>/<ref>`, e.g. `registryPath('manifests', 'acme/app')`. */
export function registryPath(kind: 'manifests' | 'blobs' | 'uploads', repository = '.+', ref = '[^/?]+'): RegExp {
  const tail = kind === 'uploads' ? 'blobs/uploads/[^?]*' : `${kind}/${ref}`;
  return new RegExp(`^/v2/${repository}/${tail}(\\?.*)?$`);
}
