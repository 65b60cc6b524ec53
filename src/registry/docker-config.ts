/**
 * Credentials from the Docker client configuration that docker/login-action (or
 * `docker login`) writes: `auths` entries, `credHelpers` per host and the
 * `credsStore` helper, run as `docker-credential-<name> get` like Docker does.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ActionError } from '../errors.js';
import { DOCKER_HUB_CONFIG_KEY, isDockerHub } from './hosts.js';

/** What one source knows about a registry; secrets are never printed, `source` is. */
export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken`), exchanged at the token realm. */
  identityToken?: string;
  /** Where it came from, for error messages: "~/.docker/config.json auths", "docker-credential-gcloud", … */
  source: string;
  /** Things tried that did not work (a helper missing), for error messages. */
  notes?: string[];
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export interface LoadedDockerConfig {
  config: DockerConfigFile;
  /** How the file is named to people: `~/.docker/config.json` or `$DOCKER_CONFIG/config.json`. */
  displayPath: string;
}

/** Runs `docker-credential-<helper> get` with the server on stdin; injectable for tests. */
export type HelperRunner = (program: string, stdin: string) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** A helper waiting on a locked keychain or a prompt must not hang the run: it is stopped after this. */
export const HELPER_TIMEOUT_MS = 30_000;

export const runHelper = (program: string, stdin: string, timeoutMs = HELPER_TIMEOUT_MS): ReturnType<HelperRunner> =>
  new Promise((resolve, reject) => {
    // env given explicitly: the helper is looked up on ITS PATH (the one tests and callers set).
    const child = spawn(program, ['get'], { env: process.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      // Its own children may still hold the pipes: let go of them rather than wait.
      child.stdout.destroy();
      child.stderr.destroy();
      reject(new Error(`it did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? 1, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    // A helper that exits without reading its input is not our failure to report.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });

/** Reads `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`; undefined when there is none. */
export async function loadDockerConfig(env: NodeJS.ProcessEnv = process.env, home = homedir()): Promise<LoadedDockerConfig | undefined> {
  const dir = env.DOCKER_CONFIG?.trim();
  const path = dir ? join(dir, 'config.json') : join(home, '.docker', 'config.json');
  const displayPath = dir ? '$DOCKER_CONFIG/config.json' : '~/.docker/config.json';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ActionError(`could not read the Docker config ${path}: ${(err as Error).message}`, {
      fix: 'make the file readable by the runner user, or remove it',
    });
  }
  try {
    const config = JSON.parse(text) as DockerConfigFile;
    if (config === null || typeof config !== 'object') throw new Error('not a JSON object');
    return { config, displayPath };
  } catch (err) {
    throw new ActionError(`the Docker config ${path} is not valid JSON (${(err as Error).message})`, {
      fix: 'run the docker/login-action step again or repair the file',
    });
  }
}

/** `https://ghcr.io/v1/` → `ghcr.io`: how Docker itself matches config keys to hosts. */
export function configKeyHost(key: string): string {
  return key.trim().replace(/^[a-z]+:\/\//i, '').split('/')[0].toLowerCase();
}

function sameRegistry(key: string, host: string): boolean {
  const a = configKeyHost(key);
  const b = host.toLowerCase();
  return a === b || (isDockerHub(a) && isDockerHub(b));
}

/** Keys of `record` naming `host`, the exact spelling first. */
function matchingKeys(record: Record<string, unknown> | undefined, host: string): string[] {
  if (!record || typeof record !== 'object') return [];
  return Object.keys(record)
    .filter((k) => sameRegistry(k, host))
    .sort((a, b) => Number(configKeyHost(b) === host.toLowerCase()) - Number(configKeyHost(a) === host.toLowerCase()));
}

/** The `auths` entry for `host` holding a usable secret, if any. */
export function credentialFromAuths(loaded: LoadedDockerConfig, host: string): Credential | undefined {
  for (const key of matchingKeys(loaded.config.auths, host)) {
    const entry = loaded.config.auths?.[key];
    if (!entry || typeof entry !== 'object') continue;
    const source = `${loaded.displayPath} auths["${key}"]`;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      return { identityToken: entry.identitytoken, username: entry.username, source };
    }
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') {
      return { username: entry.username, password: entry.password, source };
    }
  }
  return undefined;
}

/** The helper named for `host` in `credHelpers`, else `credsStore`. */
export function helpersFor(loaded: LoadedDockerConfig, host: string): string[] {
  const helpers: string[] = [];
  const key = matchingKeys(loaded.config.credHelpers, host)[0];
  if (key !== undefined && typeof loaded.config.credHelpers?.[key] === 'string') helpers.push(loaded.config.credHelpers[key]);
  if (typeof loaded.config.credsStore === 'string' && loaded.config.credsStore !== '') helpers.push(loaded.config.credsStore);
  return [...new Set(helpers)];
}

const NOT_FOUND = /credentials not found|not found in native keychain|no credentials/i;

/**
 * Asks `docker-credential-<helper>` for `host`. "Not found" is not an error (no
 * credentials); a helper that cannot run is reported in `notes`, not thrown, so the
 * next source can still be tried.
 */
export async function credentialFromHelper(
  helper: string,
  host: string,
  run: HelperRunner = runHelper,
): Promise<Credential | { notes: string[] } | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) return { notes: [`credential helper name "${helper}" is not valid`] };
  const program = `docker-credential-${helper}`;
  const server = isDockerHub(host) ? DOCKER_HUB_CONFIG_KEY : host;
  let out: { exitCode: number; stdout: string; stderr: string };
  try {
    out = await run(program, server);
  } catch (err) {
    return { notes: [`${program} could not be run (${(err as Error).message.split('\n')[0]})`] };
  }
  if (out.exitCode !== 0) {
    if (NOT_FOUND.test(out.stdout) || NOT_FOUND.test(out.stderr)) return undefined;
    // Helpers may echo what they were given; keep only the first line and never the output of a success.
    const said = (out.stderr.trim() || out.stdout.trim()).split('\n')[0].slice(0, 200);
    return { notes: [`${program} failed (exit ${out.exitCode}${said ? `: ${said}` : ''})`] };
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(out.stdout) as { Username?: unknown; Secret?: unknown };
  } catch {
    return { notes: [`${program} answered something that is not JSON`] };
  }
  if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return undefined;
  const source = program;
  // Docker's convention: the user name "<token>" marks an identity (refresh) token.
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret, source };
  return { username: typeof parsed.Username === 'string' ? parsed.Username : '', password: parsed.Secret, source };
}
