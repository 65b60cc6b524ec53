/**
 * Which credentials to present to a registry, in order: the explicit inputs
 * (every registry), the Docker config (`auths`, then `credHelpers`, then
 * `credsStore`), `github-token` for ghcr.io, else anonymous. Every secret found
 * is masked in the log; each credential says where it came from, never what it is.
 */
import * as core from '@actions/core';
import {
  credentialFromAuths,
  credentialFromHelper,
  helpersFor,
  loadDockerConfig,
  runHelper,
  type Credential,
  type HelperRunner,
  type LoadedDockerConfig,
} from './docker-config.js';

export type { Credential } from './docker-config.js';

export interface CredentialResolver {
  /** Credentials for a registry host (`ghcr.io`, `127.0.0.1:5000`); `source: 'anonymous'` when none. */
  resolve(host: string): Promise<Credential>;
}

export interface CredentialSources {
  /** `registry-username` / `registry-password`: apply to every registry. */
  explicit?: { username: string; password: string };
  /** `github-token`: used for ghcr.io when nothing else is found. */
  githubToken?: string;
  /** Defaults to the process environment (`DOCKER_CONFIG`) and home directory. */
  env?: NodeJS.ProcessEnv;
  home?: string;
  runHelper?: HelperRunner;
  /** Masks a secret in the job log; defaults to `core.setSecret`. */
  mask?: (secret: string) => void;
}

export const EXPLICIT_SOURCE = 'registry-username/registry-password inputs';
export const GITHUB_TOKEN_SOURCE = 'github-token input';
export const ANONYMOUS_SOURCE = 'anonymous';

/** Masks every secret a credential holds, and the Basic form of it. */
export function maskCredential(cred: Credential, mask: (s: string) => void): void {
  for (const secret of [cred.password, cred.identityToken]) if (secret) mask(secret);
  if (cred.username !== undefined && cred.password) {
    mask(Buffer.from(`${cred.username}:${cred.password}`).toString('base64'));
  }
}

export class DefaultCredentialResolver implements CredentialResolver {
  private readonly cache = new Map<string, Promise<Credential>>();
  private config?: Promise<LoadedDockerConfig | undefined>;
  private readonly mask: (secret: string) => void;

  constructor(private readonly sources: CredentialSources = {}) {
    this.mask = sources.mask ?? core.setSecret;
  }

  /** Resolved once per host for the run: a credential helper is not asked twice. */
  resolve(host: string): Promise<Credential> {
    const key = host.toLowerCase();
    let found = this.cache.get(key);
    if (!found) {
      found = this.lookup(key).then((cred) => {
        maskCredential(cred, this.mask);
        return cred;
      });
      this.cache.set(key, found);
    }
    return found;
  }

  private async lookup(host: string): Promise<Credential> {
    const { explicit, githubToken } = this.sources;
    if (explicit?.username && explicit.password) {
      return { username: explicit.username, password: explicit.password, source: EXPLICIT_SOURCE };
    }
    const notes: string[] = [];
    this.config ??= loadDockerConfig(this.sources.env, this.sources.home);
    const loaded = await this.config;
    if (loaded) {
      const fromAuths = credentialFromAuths(loaded, host);
      if (fromAuths) return fromAuths;
      for (const helper of helpersFor(loaded, host)) {
        const fromHelper = await credentialFromHelper(helper, host, this.sources.runHelper ?? runHelper);
        if (fromHelper && 'source' in fromHelper) return fromHelper;
        if (fromHelper) notes.push(...fromHelper.notes);
      }
    }
    if (githubToken && host === 'ghcr.io') {
      return { username: 'x-access-token', password: githubToken, source: GITHUB_TOKEN_SOURCE, notes };
    }
    return { source: ANONYMOUS_SOURCE, notes };
  }
}

/** The same credential for every host: for the sandbox, tests and the bench. */
export function staticCredentials(cred: Omit<Credential, 'source'> & { source?: string }): CredentialResolver {
  const full: Credential = { ...cred, source: cred.source ?? 'given credentials' };
  return { resolve: async () => full };
}

export const anonymous: CredentialResolver = staticCredentials({ source: ANONYMOUS_SOURCE });
