/**
 * A Docker token server (https://distribution.github.io/distribution/spec/auth/token/) for the
 * sandbox's `token` registry: the registry answers 401 with a Bearer challenge pointing here, the
 * client asks `/token?service=..&scope=repository:<name>:pull,push` with the sandbox user's Basic
 * credentials and gets a short-lived JWT granting exactly the actions it asked for.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual, webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface TokenServerOptions {
  username: string;
  password: string;
  /** The registry's `auth.token.service`; becomes the token's `aud`. */
  service: string;
  /** The registry's `auth.token.issuer`; becomes the token's `iss`. */
  issuer: string;
  /** A second account that may pull but never push: its tokens grant `pull` only, whatever is asked (as a read-only account's would). */
  readOnly?: { username: string; password: string };
}

export interface TokenServer {
  /** Realm for the registry config: `http://127.0.0.1:<port>/token`. */
  realm: string;
  /** PEM of the self-signed certificate the registry must trust (`auth.token.rootcertbundle`). */
  rootCertificatePem: string;
  /** Number of requests made to the token endpoint so far (granted or not), for benchmarks. */
  tokenRequests(): number;
  stop(): Promise<void>;
}

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

const TOKEN_LIFETIME_SECONDS = 300;

type CryptoKeyPair = webcrypto.CryptoKeyPair;

// Node's WebCrypto is the DOM Crypto in all but its TypeScript name.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** `repository:org/app:pull,push` → {type, name, actions}; the name may itself hold colons (host:port). */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: [...new Set(actions)] };
}

function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** Constant-time comparison, so the sandbox does not teach bad habits. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function basicCredentials(req: IncomingMessage): { username: string; password: string } | undefined {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Self-signed P-256 CA certificate and key: distribution 2.8 checks the JWT's x5c against its bundle. */
async function createSigningIdentity(): Promise<{ keys: CryptoKeyPair; cert: x509.X509Certificate }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    // A leading 01 keeps the DER integer positive.
    serialNumber: '01' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    name: 'CN=sign-action sandbox token issuer',
    // An hour back, so clocks a little apart still accept it.
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 7 * 24 * 3600_000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  return { keys, cert };
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const { keys, cert } = await createSigningIdentity();
  const certDer = Buffer.from(cert.rawData).toString('base64');
  let requests = 0;

  async function signToken(access: Access[], subject: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
    const claims = {
      iss: opts.issuer,
      sub: subject,
      aud: opts.service,
      exp: now + TOKEN_LIFETIME_SECONDS,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    // WebCrypto's ECDSA signature is already the JWS form (r || s, 64 bytes).
    const signature = await webcrypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      keys.privateKey,
      Buffer.from(signingInput),
    );
    return `${signingInput}.${base64url(new Uint8Array(signature))}`;
  }

  /** Answers one token request given its parameters and the credentials presented. */
  async function grant(
    res: ServerResponse,
    params: URLSearchParams,
    creds: { username: string; password: string } | undefined,
  ): Promise<void> {
    const readOnly = !!creds && !!opts.readOnly && sameSecret(creds.username, opts.readOnly.username) && sameSecret(creds.password, opts.readOnly.password);
    if (!readOnly && (!creds || !sameSecret(creds.username, opts.username) || !sameSecret(creds.password, opts.password))) {
      sendJson(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required: use the sandbox registry username and password' }] },
        { 'www-authenticate': 'Basic realm="sign-action sandbox token server"' },
      );
      return;
    }
    const service = params.get('service');
    if (service !== null && service !== opts.service) {
      sendJson(res, 400, { errors: [{ code: 'DENIED', message: `unknown service "${service}", expected "${opts.service}"` }] });
      return;
    }
    const access: Access[] = [];
    for (const scope of params.getAll('scope').flatMap((s) => s.split(' '))) {
      if (scope === '') continue;
      const parsed = parseScope(scope);
      if (!parsed) {
        sendJson(res, 400, { errors: [{ code: 'DENIED', message: `malformed scope "${scope}"` }] });
        return;
      }
      access.push(readOnly ? { ...parsed, actions: parsed.actions.filter((a) => a === 'pull') } : parsed);
    }
    const token = await signToken(access, creds!.username);
    sendJson(res, 200, {
      token,
      access_token: token,
      expires_in: TOKEN_LIFETIME_SECONDS,
      issued_at: new Date().toISOString(),
    });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token') {
      sendJson(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'only /token is served here' }] });
      return;
    }
    requests++;
    const handle = async (): Promise<void> => {
      if (req.method === 'GET') return grant(res, url.searchParams, basicCredentials(req));
      if (req.method === 'POST') {
        // OAuth2 password grant, as containerd and oras try first.
        const form = new URLSearchParams(await readBody(req));
        if (form.get('grant_type') !== 'password') {
          sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'only grant_type=password is supported' });
          return;
        }
        const username = form.get('username');
        const password = form.get('password');
        return grant(res, form, username !== null && password !== null ? { username, password } : undefined);
      }
      sendJson(res, 405, { errors: [{ code: 'UNSUPPORTED', message: 'use GET or POST' }] }, { allow: 'GET, POST' });
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    // By name, not by IP: go-containerregistry 0.21+ (cosign 3.1) refuses a token realm on a
    // loopback or private IP literal unless it is the registry's own host:port.
    realm: `http://localhost:${port}/token`,
    rootCertificatePem: cert.toString('pem'),
    tokenRequests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
