/**
 * Endpoints of a custom Sigstore instance as the inputs give them: checked URLs,
 * the trusted root file, and what the inputs may leave out or give in short form:
 * `tsa-url` as a base URL, and (verify mode) `fulcio-url` and `rekor-url` taken
 * from the instance's trusted_root.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Mode } from './config-types.js';
import { ActionError } from './errors.js';
import { isLoopbackHost } from './registry/hosts.js';

/** The RFC 3161 path of Sigstore's timestamp-authority (and of the sandbox's). */
export const TIMESTAMP_PATH = '/api/v1/timestamp';

/**
 * The URL a timestamp request is POSTed to. A base URL (`https://timestamp.example`),
 * the form sigstore-js's `tsaServerURL` and many trusted roots use, is answered
 * 404 by Sigstore's TSA: it gets the RFC 3161 path. A URL with a path is taken
 * as the endpoint itself, since other TSAs serve RFC 3161 elsewhere.
 */
export function timestampEndpoint(url: string): string {
  return new URL(url).pathname === '/' ? `${url.replace(/\/+$/, '')}${TIMESTAMP_PATH}` : url;
}

interface Validity {
  start?: unknown;
  end?: unknown;
}

/** The parts of a trusted_root.json (protobuf-specs `TrustedRoot`, JSON form) read here. */
interface TrustedRootUrls {
  certificateAuthorities?: { uri?: unknown; validFor?: Validity }[];
  tlogs?: { baseUrl?: unknown; publicKey?: { validFor?: Validity } }[];
}

export interface InstanceUrls {
  fulcioUrl?: string;
  rekorUrl?: string;
}

const time = (value: unknown, fallback: number): number => {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? fallback : t;
};

/** An http(s) URL without credentials, query or fragment, trailing slashes trimmed; else undefined. */
function serviceUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (!['https:', 'http:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) return undefined;
  return url.href.replace(/\/+$/, '');
}

/**
 * The service in use at `now`: valid now (started, not ended), the newest start
 * first, the last listed on a tie (trusted roots append services as they rotate).
 */
function newestValid(services: { url: unknown; validFor?: Validity }[], now: number): string | undefined {
  let best: { url: string; start: number } | undefined;
  for (const s of services) {
    const url = serviceUrl(s.url);
    const start = time(s.validFor?.start, -Infinity);
    if (!url || start > now || time(s.validFor?.end, Infinity) <= now) continue;
    if (!best || start >= best.start) best = { url, start };
  }
  return best?.url;
}

/**
 * Fulcio's and Rekor's URLs as the trusted root names them
 * (`certificateAuthorities[].uri`, `tlogs[].baseUrl`); each undefined when it
 * names none valid at `now`.
 */
export function urlsFromTrustedRoot(root: unknown, now = new Date()): InstanceUrls {
  const r = (typeof root === 'object' && root !== null ? root : {}) as TrustedRootUrls;
  const list = <T>(value: T[] | undefined): T[] => (Array.isArray(value) ? value.filter((v) => typeof v === 'object' && v !== null) : []);
  const urls: InstanceUrls = {};
  const fulcioUrl = newestValid(list(r.certificateAuthorities).map((ca) => ({ url: ca.uri, validFor: ca.validFor })), now.getTime());
  const rekorUrl = newestValid(list(r.tlogs).map((log) => ({ url: log.baseUrl, validFor: log.publicKey?.validFor })), now.getTime());
  if (fulcioUrl) urls.fulcioUrl = fulcioUrl;
  if (rekorUrl) urls.rekorUrl = rekorUrl;
  return urls;
}

/** The error for a Fulcio or Rekor URL that is neither given nor (verify mode) named by the trusted root. */
export function missingEndpoint(name: 'fulcio-url' | 'rekor-url', mode: Mode, trustedRoot: string | undefined): never {
  const example = `https://${name.replace(/-url$/, '')}.example.com`;
  const what = name === 'fulcio-url' ? 'certificate authority (certificateAuthorities[].uri)' : 'transparency log (tlogs[].baseUrl)';
  if (mode === 'verify') {
    throw new ActionError(`${name} is not set, and the trusted root ${trustedRoot} names no ${what} valid now`, {
      input: name,
      fix: `set ${name}, e.g. ${example}, or give the trusted_root.json of the instance that made the signatures`,
    });
  }
  throw new ActionError(`${name} is required to sign with a custom Sigstore instance (sigstore: custom)`, {
    input: name,
    fix: `set ${name}, e.g. ${example} (only verify mode takes it from trusted-root)`,
  });
}

/** An http(s) URL without credentials, query or fragment, trailing slashes trimmed; undefined when unset. */
export function endpoint(read: (name: string) => string, name: string): string | undefined {
  const raw = read(name);
  const example = `https://${name.replace(/-url$/, '')}.example.com`;
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ActionError(`"${raw}" is not a URL`, { input: name, fix: `write the full URL, e.g. ${example}` });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
    // The OIDC token and signatures travel to these endpoints: plain HTTP only where nothing leaves the machine.
    throw new ActionError(`${url.protocol}// is not allowed here`, { input: name, fix: `use https:// (plain http:// only on localhost, 127.0.0.0/8 or [::1]), e.g. ${example}` });
  }
  if (url.username || url.password) {
    throw new ActionError('the URL carries credentials', { input: name, fix: `remove the user:password@ part: ${url.origin}` });
  }
  if (url.search || url.hash) {
    throw new ActionError('the URL has a query or fragment', { input: name, fix: `give the base URL only: ${url.origin}${url.pathname}` });
  }
  return url.href.replace(/\/+$/, '');
}

/** Readable and JSON: the trust itself is checked where it is used, but a wrong path fails now. */
export function checkTrustedRoot(file: string): { path: string; json: object } {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (e) {
    throw new ActionError(`cannot read ${absolute} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      input: 'trusted-root',
      fix: 'give the path of your instance\'s trusted_root.json (relative paths start at the workspace), written by an earlier step or checked out',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ActionError(`${absolute} is not JSON (${(e as Error).message})`, { input: 'trusted-root', fix: 'give the trusted_root.json of your Sigstore instance' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ActionError(`${absolute} is not a JSON object`, { input: 'trusted-root', fix: 'give the trusted_root.json of your Sigstore instance' });
  }
  return { path: absolute, json: parsed };
}
