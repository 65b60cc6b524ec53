/**
 * Registry authentication for one run: answers 401 challenges (Bearer token
 * realm or Basic), caches one token per registry+repository, refreshes it on
 * expiry or when a token we believed valid is refused, and exchanges Docker
 * `identitytoken`s (OAuth2 refresh tokens). Credentials go only to the registry
 * host and to the token realm that host names; http.ts drops them on redirects
 * to other hosts.
 */
import { ActionError } from '../errors.js';
import { jsonBody, type HttpRequest, type HttpResponse } from '../net/http.js';
import { parseWwwAuthenticate, type Challenge } from './challenge.js';
import type { Credential, CredentialResolver } from './credentials.js';
import { quoteRegistrySaid } from './errors.js';
import { isAcceptableScheme } from './hosts.js';
import type { Repo } from './types.js';

export type Send = (req: HttpRequest) => Promise<HttpResponse>;

interface BearerRealm {
  scheme: 'bearer';
  realm: string;
  service?: string;
}
type HostScheme = BearerRealm | { scheme: 'basic' };

interface Token {
  header: string;
  expiresAt: number;
  /** `pull,push`, or `pull` when the token server refused push. */
  actions: string;
  /** Obtained because the previous token was refused: a second refusal is final. */
  afterRefusal: boolean;
}

export interface AuthOutcome {
  /** Send the request again: new credentials are in place. */
  retry: boolean;
  /** Why not, for the error message (never a secret). */
  detail?: string;
}

type TokenResult = Token | { failed: string };

/** A token server must answer within a minute; its own 5xx are retried by http.ts. */
const TOKEN_TIMEOUT_MS = 30_000;
/** Per the token spec, a token without `expires_in` lives 60 s. */
const DEFAULT_TOKEN_SECONDS = 60;

export class RegistryAuth {
  private readonly schemes = new Map<string, HostScheme>();
  private readonly tokens = new Map<string, Token>();
  private readonly pending = new Map<string, Promise<TokenResult>>();
  private readonly secrets = new Set<string>();
  /** Hosts that have answered once: what auth they want (if any) is known from then on. */
  private readonly contacted = new Set<string>();
  private readonly firstContact = new Map<string, Promise<void>>();

  constructor(
    private readonly credentials: CredentialResolver,
    private readonly send: Send,
    private readonly mask: (secret: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  credential(host: string): Promise<Credential> {
    return this.credentials.resolve(host);
  }

  /** Replaces every secret this run has seen with `***`, for text quoted in errors. */
  redact = (text: string): string => {
    let out = text;
    for (const secret of this.secrets) if (secret.length >= 4) out = out.split(secret).join('***');
    return out;
  };

  /**
   * Until a host has answered once we do not know what auth it wants: the first
   * request goes alone, and requests started meanwhile wait for its answer (and
   * the challenge it may bring) instead of each drawing a 401 of their own.
   * Returns what to call once that first answer has been dealt with.
   */
  async admit(registry: string): Promise<(() => void) | undefined> {
    for (let waiting = this.firstContact.get(registry); !this.contacted.has(registry); waiting = this.firstContact.get(registry)) {
      if (!waiting) {
        let release!: () => void;
        this.firstContact.set(registry, new Promise<void>((resolve) => (release = resolve)));
        return () => {
          this.contacted.add(registry);
          this.firstContact.delete(registry);
          release();
        };
      }
      await waiting;
    }
    return undefined;
  }

  /** The Authorization header to send to `repo`'s registry now, if we know what it wants. */
  async header(repo: Repo): Promise<string | undefined> {
    const scheme = this.schemes.get(repo.registry);
    if (!scheme) return undefined;
    if (scheme.scheme === 'basic') return this.basicHeader(await this.credential(repo.registry));
    const token = this.tokens.get(tokenKey(repo));
    if (token && token.expiresAt > this.now()) return token.header;
    // The host's realm is known: fetch this repository's token without a 401 round trip.
    const fetched = await this.token(repo, scheme, false);
    return 'header' in fetched ? fetched.header : undefined;
  }

  /** After a 401: set up what the challenge asks for and say whether a retry can help. */
  async unauthorized(repo: Repo, res: HttpResponse, sent: string | undefined): Promise<AuthOutcome> {
    const challenges = parseWwwAuthenticate(res.headers.get('www-authenticate'));
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) return this.onBearer(repo, bearer, sent);
    if (challenges.some((c) => c.scheme === 'basic')) return this.onBasic(repo, sent);
    const offered = challenges.map((c) => c.scheme).join(', ');
    return { retry: false, detail: offered ? `the registry asks for ${offered} authentication, which we do not support` : undefined };
  }

  private async onBearer(repo: Repo, challenge: Challenge, sent: string | undefined): Promise<AuthOutcome> {
    const realm: BearerRealm = { scheme: 'bearer', realm: challenge.params.realm, service: challenge.params.service };
    this.schemes.set(repo.registry, realm);
    const key = tokenKey(repo);
    const current = this.tokens.get(key);
    // Another request already fetched a token since we sent ours (or none): use it.
    if (current && sent !== current.header && current.expiresAt > this.now()) return { retry: true };
    if (sent && current && sent === current.header) {
      if (current.afterRefusal) {
        return { retry: false, detail: current.actions === 'pull' ? 'the token server granted pull access only' : undefined };
      }
      this.tokens.delete(key);
    }
    const fetched = await this.token(repo, realm, sent !== undefined);
    return 'failed' in fetched ? { retry: false, detail: fetched.failed } : { retry: true };
  }

  private async onBasic(repo: Repo, sent: string | undefined): Promise<AuthOutcome> {
    const cred = await this.credential(repo.registry);
    const header = this.basicHeader(cred);
    if (!header) {
      const detail = cred.identityToken ? 'an identity token cannot answer a Basic challenge' : undefined;
      return { retry: false, detail };
    }
    // The same credentials were just refused: sending them again will not help.
    if (sent === header) return { retry: false, detail: 'the registry refused the username and password' };
    this.schemes.set(repo.registry, { scheme: 'basic' });
    return { retry: true };
  }

  private basicHeader(cred: Credential): string | undefined {
    if (cred.username === undefined || !cred.password) return undefined;
    const value = Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
    this.remember(cred.password);
    this.remember(value);
    return `Basic ${value}`;
  }

  private remember(secret: string): void {
    if (!this.secrets.has(secret)) {
      this.secrets.add(secret);
      this.mask(secret);
    }
  }

  /** One token fetch per repository at a time; concurrent callers share it. */
  private token(repo: Repo, realm: BearerRealm, afterRefusal: boolean): Promise<TokenResult> {
    const key = tokenKey(repo);
    let running = this.pending.get(key);
    if (!running) {
      running = this.fetchToken(repo, realm, afterRefusal).finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  private async fetchToken(repo: Repo, realm: BearerRealm, afterRefusal: boolean): Promise<TokenResult> {
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm.realm);
    } catch {
      return { failed: `the registry named a token realm that is not a URL (${JSON.stringify(realm.realm)})` };
    }
    if (!isAcceptableScheme(realmUrl)) {
      return { failed: `the registry named the token realm ${realmUrl.origin}, which is not https; we do not send credentials there` };
    }
    const cred = await this.credential(repo.registry);
    if (cred.password) this.remember(cred.password);
    if (cred.identityToken) this.remember(cred.identityToken);
    let lastFailure = '';
    // Ask for push too (one token serves the whole run); fall back to pull when push is refused.
    for (const actions of ['pull,push', 'pull']) {
      const scope = `repository:${repo.repository}:${actions}`;
      const res = await this.send(tokenRequest(realmUrl, realm.service, scope, cred, this.basicHeader(cred)));
      if (res.status === 200) {
        const token = this.parseToken(res, realmUrl, actions, afterRefusal, repo.repository);
        this.tokens.set(tokenKey(repo), token);
        return token;
      }
      const said = quoteRegistrySaid(res.body, this.redact);
      lastFailure = `the token server ${realmUrl.origin}${realmUrl.pathname} answered HTTP ${res.status}${said ? ` ${said}` : ''}`;
      if (![401, 403].includes(res.status)) break;
    }
    return { failed: lastFailure };
  }

  private parseToken(res: HttpResponse, realm: URL, asked: string, afterRefusal: boolean, repository: string): Token {
    const body = jsonBody<{ token?: unknown; access_token?: unknown; expires_in?: unknown }>(res);
    const value = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof value !== 'string' || value === '') {
      throw new ActionError(`the token server ${realm.origin}${realm.pathname} answered without a token`, {
        fix: "check the registry's status; report this if it persists",
      });
    }
    this.remember(value);
    // Token servers answer 200 with less than was asked (a read-only account): say so when refused later.
    const granted = grantedActions(value, repository);
    const actions = granted && !granted.includes('push') ? 'pull' : asked;
    const seconds = typeof body.expires_in === 'number' && body.expires_in >= DEFAULT_TOKEN_SECONDS ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    // Renew a little early, so a token does not expire between our check and the registry's.
    return { header: `Bearer ${value}`, expiresAt: this.now() + seconds * 900, actions, afterRefusal };
  }
}

/** The actions a JWT token grants on `repository` (distribution's `access` claim); undefined when it does not say. */
export function grantedActions(token: string, repository: string): string[] | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { access?: unknown };
    if (!Array.isArray(claims.access)) return undefined;
    const entry = (claims.access as { type?: unknown; name?: unknown; actions?: unknown }[]).find(
      (a) => a?.type === 'repository' && a.name === repository,
    );
    return Array.isArray(entry?.actions) ? entry.actions.filter((a): a is string => typeof a === 'string') : [];
  } catch {
    return undefined;
  }
}

function tokenKey(repo: Repo): string {
  return `${repo.registry.toLowerCase()}/${repo.repository}`;
}

/** GET realm?service&scope (Basic when we have a password), or the OAuth2 refresh-token POST. */
function tokenRequest(realm: URL, service: string | undefined, scope: string, cred: Credential, basic: string | undefined): HttpRequest {
  if (cred.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'sign-action', scope });
    if (service) form.set('service', service);
    return {
      method: 'POST',
      url: realm.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      timeoutMs: TOKEN_TIMEOUT_MS,
    };
  }
  const url = new URL(realm);
  if (service) url.searchParams.set('service', service);
  url.searchParams.set('scope', scope);
  return { method: 'GET', url: url.toString(), headers: basic ? { authorization: basic } : {}, timeoutMs: TOKEN_TIMEOUT_MS };
}
