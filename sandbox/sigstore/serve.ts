/**
 * A minimal node:http server for the sandbox services: loopback only, a free
 * port, a route function per service, bounded request bodies, and a stop()
 * that also drops idle keep-alive connections (otherwise tests hang on close).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a route answers; `body` objects are sent as JSON. */
export interface Reply {
  status: number;
  body?: string | Buffer | object;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface IncomingRequest {
  method: string;
  /** Parsed against the server's own base URL. */
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Route = (req: IncomingRequest) => Promise<Reply> | Reply;

export interface RunningServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** `127.0.0.1:<port>`: what transparency logs name themselves after. */
  host: string;
  stop(): Promise<void>;
}

/** Request bodies above this are refused: a 16 MiB predicate (actions/attest's cap) makes a ~22 MiB Rekor v1 request. */
const MAX_BODY_BYTES = 40 * 1024 * 1024;

export function json(status: number, body: object, headers?: Record<string, string>): Reply {
  return { status, body, headers };
}

export interface ServerAddress {
  url: string;
  host: string;
}

/**
 * Starts a server on 127.0.0.1 and a free port. `makeRoute` is called once the
 * port is known (services that name themselves after their address need it)
 * and its route handles every request.
 */
export async function serve(name: string, makeRoute: (address: ServerAddress) => Route): Promise<RunningServer> {
  let base = '';
  let route: Route = () => json(503, { code: 503, message: `sandbox ${name} is starting` });
  const server = http.createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        const url = new URL(req.url ?? '/', base);
        return route({ method: req.method ?? 'GET', url, headers: req.headers, body });
      })
      .catch((err: unknown): Reply => {
        const tooLarge = err instanceof BodyTooLargeError;
        // A crash in a sandbox service is a bug in the sandbox: say which one.
        const message = tooLarge ? err.message : `sandbox ${name} failed: ${(err as Error)?.message ?? String(err)}`;
        return json(tooLarge ? 413 : 500, { code: tooLarge ? 413 : 500, message });
      })
      .then((reply) => send(res, reply));
  });
  // Keep-alive sockets would otherwise keep the process (and jest) alive after stop().
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  route = makeRoute({ url: base, host: `127.0.0.1:${port}` });
  return {
    url: base,
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

class BodyTooLargeError extends Error {}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError(`request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  let payload: Buffer;
  let contentType = reply.contentType;
  if (reply.body === undefined) {
    payload = Buffer.alloc(0);
  } else if (Buffer.isBuffer(reply.body)) {
    payload = reply.body;
  } else if (typeof reply.body === 'string') {
    payload = Buffer.from(reply.body, 'utf8');
    contentType ??= 'text/plain; charset=utf-8';
  } else {
    payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
    contentType ??= 'application/json';
  }
  res.writeHead(reply.status, {
    ...(contentType ? { 'Content-Type': contentType } : {}),
    'Content-Length': String(payload.length),
    ...reply.headers,
  });
  res.end(payload);
}

/** The bearer credential of a request, whatever the case of the scheme. */
export function bearerToken(headers: http.IncomingHttpHeaders): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Parses a JSON request body; undefined when it is not JSON. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
