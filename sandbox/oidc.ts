/**
 * The sandbox's stand-in for GitHub Actions' OIDC token service: the runner
 * variables ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN, a token endpoint that answers
 * `{"value": "<JWT>"}` for the right bearer, and discovery + JWKS documents.
 * Tokens carry GitHub's claim set and are signed (RS256) by a key of this run,
 * which the sandbox Fulcio trusts.
 */
import crypto from 'node:crypto';
import { signJwt } from './sigstore/jwt.js';
import { bearerToken, json, serve, type IncomingRequest, type Reply } from './sigstore/serve.js';

/** The claims GitHub puts in an Actions ID token (all strings). */
export interface GitHubClaims {
  iss: string;
  sub: string;
  aud: string;
  repository: string;
  repository_owner: string;
  repository_id: string;
  repository_owner_id: string;
  repository_visibility: string;
  ref: string;
  ref_type?: string;
  ref_protected?: string;
  sha: string;
  workflow: string;
  workflow_ref: string;
  workflow_sha: string;
  job_workflow_ref: string;
  job_workflow_sha: string;
  event_name: string;
  runner_environment: string;
  run_id: string;
  run_number?: string;
  run_attempt: string;
  actor?: string;
  actor_id?: string;
  environment?: string;
  head_ref?: string;
  base_ref?: string;
}

export interface TokenRequest {
  requestUrl: string;
  requestToken: string;
}

export interface SandboxOidc {
  url: string;
  /** The `iss` of every token: GitHub's issuer, so certificates look like the real thing. */
  issuer: string;
  publicKey: crypto.KeyObject;
  /** Registers a claim set; returns the runner variables that obtain a token with those claims. */
  issue(claims?: Partial<GitHubClaims>): TokenRequest;
  defaultRequest: TokenRequest;
  /** Signs any payload with the issuer key (tests: expired tokens, wrong audiences). */
  signToken(payload: Record<string, unknown>): string;
  stop(): Promise<void>;
}

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const TOKEN_LIFETIME_SECONDS = 300;
const WORKFLOW_PATH = '.github/workflows/release.yml';

/** A plausible GitHub Actions identity: a push to main of kupecloud/demo-app running release.yml. */
export function defaultClaims(): GitHubClaims {
  const repository = 'kupecloud/demo-app';
  const ref = 'refs/heads/main';
  const sha = '8f2b1c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c';
  const workflowRef = `${repository}/${WORKFLOW_PATH}@${ref}`;
  return {
    iss: GITHUB_ISSUER,
    sub: `repo:${repository}:ref:${ref}`,
    aud: 'https://github.com/kupecloud',
    repository,
    repository_owner: 'kupecloud',
    repository_id: '812345678',
    repository_owner_id: '98765432',
    repository_visibility: 'public',
    ref,
    ref_type: 'branch',
    ref_protected: 'true',
    sha,
    workflow: 'release',
    workflow_ref: workflowRef,
    workflow_sha: sha,
    job_workflow_ref: workflowRef,
    job_workflow_sha: sha,
    event_name: 'push',
    runner_environment: 'github-hosted',
    run_id: '9876543210',
    run_number: '42',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
  };
}

/**
 * The defaults with `overrides` applied; claims that GitHub derives from others
 * (owner, sub, workflow refs, shas, ref_type) follow the overridden ones unless
 * they are overridden themselves, so `{ repository: 'acme/app' }` stays coherent.
 */
export function completeClaims(overrides: Partial<GitHubClaims> = {}): GitHubClaims {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<GitHubClaims>;
  const base = defaultClaims();
  const repository = given.repository ?? base.repository;
  const ref = given.ref ?? base.ref;
  const sha = given.sha ?? base.sha;
  const owner = given.repository_owner ?? repository.split('/')[0];
  const workflowRef = given.workflow_ref ?? `${repository}/${WORKFLOW_PATH}@${ref}`;
  const derived: GitHubClaims = {
    ...base,
    repository,
    repository_owner: owner,
    aud: `https://github.com/${owner}`,
    ref,
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha,
    workflow_ref: workflowRef,
    workflow_sha: sha,
    job_workflow_ref: workflowRef,
    job_workflow_sha: sha,
    ...given,
  };
  derived.sub = given.sub ?? subjectOf(derived);
  return derived;
}

/** GitHub's default `sub` format for the claim set. */
function subjectOf(c: GitHubClaims): string {
  if (c.environment) return `repo:${c.repository}:environment:${c.environment}`;
  if (c.event_name === 'pull_request' || c.event_name === 'pull_request_target') return `repo:${c.repository}:pull_request`;
  return `repo:${c.repository}:ref:${c.ref}`;
}

export async function startOidc(opts: { claims?: Partial<GitHubClaims> } = {}): Promise<SandboxOidc> {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  // RFC 7638 thumbprint, as kid: stable for the key, unique per run.
  const kid = crypto
    .createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest('base64url');
  const registered = new Map<string, { token: string; claims: GitHubClaims }>();
  let nextId = 1;

  const mintFor = (claims: GitHubClaims, audience: string | null): string => {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      jti: crypto.randomUUID(),
      ...claims,
      aud: audience ?? claims.aud,
      nbf: now,
      iat: now,
      exp: now + TOKEN_LIFETIME_SECONDS,
    };
    return signJwt(payload, privateKey, kid);
  };

  const tokenEndpoint = (req: IncomingRequest): Reply => {
    if (req.method !== 'GET') return json(405, { message: 'use GET' });
    const id = req.url.searchParams.get('id') ?? '';
    const entry = registered.get(id);
    const presented = bearerToken(req.headers);
    if (!presented) {
      return json(401, { message: 'missing "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" header' });
    }
    if (!entry || !sameSecret(presented, entry.token)) {
      return json(401, { message: 'the bearer token is not the one issued for this request URL' });
    }
    return json(200, { value: mintFor(entry.claims, req.url.searchParams.get('audience')) });
  };

  const routeFor = (url: string) => (req: IncomingRequest): Reply => {
    switch (req.url.pathname) {
      case '/token':
        return tokenEndpoint(req);
      case '/.well-known/openid-configuration':
        return json(200, {
          issuer: GITHUB_ISSUER,
          jwks_uri: `${url}/.well-known/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', ...Object.keys(defaultClaims())],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid'],
        });
      case '/.well-known/jwks':
        return json(200, { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] });
      default:
        return json(404, { message: `no such endpoint: ${req.url.pathname}` });
    }
  };

  const server = await serve('OIDC issuer', ({ url }) => routeFor(url));
  const url = server.url;
  const issue = (claims?: Partial<GitHubClaims>): TokenRequest => {
    const id = String(nextId++);
    const token = crypto.randomBytes(24).toString('hex');
    registered.set(id, { token, claims: completeClaims(claims) });
    return { requestUrl: `${url}/token?api-version=2.0&id=${id}`, requestToken: token };
  };

  return {
    url,
    issuer: GITHUB_ISSUER,
    publicKey,
    issue,
    defaultRequest: issue(opts.claims),
    signToken: (payload) => signJwt(payload, privateKey, kid),
    stop: () => server.stop(),
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
