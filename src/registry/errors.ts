/**
 * Registry failures as messages for people: what was refused or missing, for
 * which image, with which credential source (never the secret), and the fix.
 */
import { ActionError, type ActionErrorDetails } from '../errors.js';
import { retryAfterMs, type HttpError, type HttpResponse } from '../net/http.js';
import type { Credential } from './docker-config.js';
import { ANONYMOUS_SOURCE } from './credentials.js';
import { imageName, type Repo } from './types.js';

export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/** Reads distribution's `{"errors":[{"code","message"}]}`; [] for anything else. */
export function parseRegistryErrors(body: Buffer | string): RegistryErrorEntry[] {
  try {
    const parsed = JSON.parse(body.toString()) as { errors?: unknown };
    if (!Array.isArray(parsed?.errors)) return [];
    return parsed.errors
      .filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object')
      .map((e) => ({ code: String(e.code ?? 'UNKNOWN'), message: String(e.message ?? '') }));
  } catch {
    return [];
  }
}

/** What the registry said, quoted: `DENIED: "requested access to the resource is denied"`. */
export function quoteRegistrySaid(body: Buffer | string, redact: (s: string) => string = (s) => s): string {
  const entries = parseRegistryErrors(body);
  if (entries.length > 0) {
    return entries.map((e) => (e.message ? `${e.code}: ${JSON.stringify(redact(e.message))}` : e.code)).join('; ');
  }
  // Redacted before it is cut short: a secret cut in half would not be found.
  const text = redact(body.toString()).replace(/\s+/g, ' ').trim().slice(0, 200);
  return text ? JSON.stringify(text) : '';
}

export function isGhcr(host: string): boolean {
  return host.toLowerCase() === 'ghcr.io';
}

/** "with the credentials from X" or "without credentials (none found …)". */
export function describeCredential(host: string, cred: Credential): string {
  if (cred.source !== ANONYMOUS_SOURCE) return `with the credentials from ${cred.source}`;
  const looked = ['the registry-username/registry-password inputs', 'the Docker config'];
  if (isGhcr(host)) looked.push('github-token');
  const notes = cred.notes?.length ? `; ${cred.notes.join('; ')}` : '';
  return `without credentials (none found for ${host} in ${looked.join(', ')}${notes})`;
}

function accessFix(repo: Repo, action: 'push' | 'pull'): string {
  if (isGhcr(repo.registry)) {
    const [perm, role] = action === 'push' ? ['write', 'Write'] : ['read', 'Read'];
    return (
      `give the job \`permissions: packages: ${perm}\`, log in first with a \`docker/login-action\` step ` +
      `(registry: ghcr.io, password: \${{ secrets.GITHUB_TOKEN }}) or leave \`github-token\` at its default, ` +
      `and in the package's settings under "Manage Actions access" give this repository the ${role} role`
    );
  }
  const allowed = action === 'push' ? 'allowed to push to' : 'allowed to read';
  return (
    `log in first with a \`docker/login-action\` step for ${repo.registry}, or set the \`registry-username\` and ` +
    `\`registry-password\` inputs, with an account ${allowed} ${repo.repository}`
  );
}

export interface DeniedArgs {
  repo: Repo;
  ref?: string;
  action: 'push' | 'pull';
  res: HttpResponse;
  credential: Credential;
  /** Extra fact, e.g. what the token server said. */
  detail?: string;
  redact?: (s: string) => string;
}

/** 401/403: names the image, registry, credential source and the likely fix. */
export function accessDeniedError(a: DeniedArgs): ActionError {
  const verb = a.action === 'push' ? 'write to' : 'read';
  const said = quoteRegistrySaid(a.res.body, a.redact);
  const what =
    `${a.repo.registry} refused to let us ${verb} ${a.repo.repository} (HTTP ${a.res.status}${said ? ` ${said}` : ''}) ` +
    `${describeCredential(a.repo.registry, a.credential)}${a.detail ? `; ${a.detail}` : ''}`;
  return new ActionError(what, { image: imageName(a.repo, a.ref), fix: accessFix(a.repo, a.action) });
}

export function imageNotFoundError(repo: Repo, ref: string): ActionError {
  return new ActionError('not found in the registry', {
    image: imageName(repo, ref),
    fix: 'push it first (docker/build-push-action with push: true) or check the name/digest',
  });
}

/** The network code of a failed fetch: ECONNREFUSED, ENOTFOUND, timed out, … */
function networkCode(err: unknown): string {
  let e = err as { name?: string; code?: string; cause?: unknown; message?: string } | undefined;
  let innermost = (err as Error)?.message ?? String(err);
  for (let depth = 0; e && depth < 5; depth++) {
    if (e.name === 'TimeoutError') return 'timed out';
    if (typeof e.code === 'string') return e.code;
    if (e.message) innermost = e.message;
    e = e.cause as typeof e;
  }
  // No code (e.g. undici's "bad port"): the deepest cause says most.
  return innermost;
}

/**
 * A failure that may pass if tried again later (5xx, 429, 408, a network error, a
 * blob not visible yet), after the retries http.ts already made. Callers that
 * must re-read before trying again (the lossless append) catch it; it carries
 * how long the registry asked us to wait.
 */
export class TransientRegistryError extends ActionError {
  constructor(
    what: string,
    details: ActionErrorDetails,
    readonly retryAfterMs?: number,
  ) {
    super(what, details);
  }
}

/** `after 6 attempts`, or '' for a single one. */
const afterAttempts = (attempts: number | undefined): string => (attempts && attempts > 1 ? `after ${attempts} attempts` : '');

export function unreachableError(host: string, err: HttpError | Error, image?: string): ActionError {
  return new TransientRegistryError(`could not reach ${host} (${networkCode(err)})`, {
    image,
    fix: "check the name, the network, or the registry's status",
    cause: err,
  });
}

export const isTransientStatus = (status: number): boolean => status >= 500 || status === 429 || status === 408;

/**
 * Any other status: what we were doing, the status and what the registry said.
 * `transient` marks statuses worth another try besides 5xx/429/408 (a blob just pushed and not visible yet).
 */
export function unexpectedStatusError(
  repo: Repo,
  ref: string | undefined,
  doing: string,
  res: HttpResponse,
  redact?: (s: string) => string,
  transient = isTransientStatus(res.status),
): ActionError {
  const said = quoteRegistrySaid(res.body, redact);
  const tries = afterAttempts(res.attempts);
  const what = `${repo.registry} answered HTTP ${res.status}${tries ? ` (${tries})` : ''} when we tried to ${doing}${said ? `: ${said}` : ''}`;
  const details: ActionErrorDetails = {
    image: imageName(repo, ref),
    fix: transient
      ? `the registry is failing or throttling us; run the job again later, or check ${repo.registry}'s status page`
      : 'check the image name and that the registry supports the OCI distribution API; report this if it persists',
  };
  if (!transient) return new ActionError(what, details);
  return new TransientRegistryError(what, details, retryAfterMs(res.headers.get('retry-after')));
}
