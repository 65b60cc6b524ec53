/**
 * The sandbox GitHub OIDC endpoint, over real HTTP: bearer checks, audience,
 * claims, signatures checkable from the published JWKS.
 */
import crypto from 'node:crypto';
import { completeClaims, defaultClaims, startOidc, type SandboxOidc } from '../../sandbox/oidc.js';
import { decodeJwt, verifyJwt } from '../../sandbox/sigstore/jwt.js';

let oidc: SandboxOidc;

beforeAll(async () => {
  oidc = await startOidc();
});
afterAll(async () => {
  await oidc.stop();
});

async function requestToken(requestUrl: string, authorization?: string, audience: string | null = 'sigstore') {
  const url = audience === null ? requestUrl : `${requestUrl}&audience=${encodeURIComponent(audience)}`;
  const res = await fetch(url, { headers: authorization === undefined ? {} : { Authorization: authorization } });
  return { status: res.status, body: (await res.json()) as { value?: string; message?: string } };
}

describe('token endpoint', () => {
  it('answers {"value": <JWT>} for the issued bearer, with the requested audience', async () => {
    const { requestUrl, requestToken: bearer } = oidc.defaultRequest;
    expect(requestUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token\?api-version=2\.0&id=\d+$/);
    const { status, body } = await requestToken(requestUrl, `bearer ${bearer}`);
    expect(status).toBe(200);
    const claims = verifyJwt(body.value as string, { publicKey: oidc.publicKey, issuer: oidc.issuer, audience: 'sigstore' });
    const expected = defaultClaims();
    expect(claims).toMatchObject({
      iss: 'https://token.actions.githubusercontent.com',
      aud: 'sigstore',
      sub: 'repo:kupecloud/demo-app:ref:refs/heads/main',
      repository: expected.repository,
      job_workflow_ref: 'kupecloud/demo-app/.github/workflows/release.yml@refs/heads/main',
      run_id: expected.run_id,
    });
    const { iat, nbf, exp } = claims as { iat: number; nbf: number; exp: number };
    expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(5);
    expect(nbf).toBeLessThanOrEqual(iat);
    expect(exp - iat).toBe(300);
  });

  it('accepts the bearer scheme in any case', async () => {
    const { requestUrl, requestToken: bearer } = oidc.defaultRequest;
    expect((await requestToken(requestUrl, `Bearer ${bearer}`)).status).toBe(200);
    expect((await requestToken(requestUrl, `BEARER ${bearer}`)).status).toBe(200);
  });

  it('refuses a missing bearer with 401 and a JSON message', async () => {
    const { status, body } = await requestToken(oidc.defaultRequest.requestUrl);
    expect(status).toBe(401);
    expect(body.message).toMatch(/Authorization/);
    expect(body.value).toBeUndefined();
  });

  it('refuses a wrong bearer, and the bearer of another claim set, without echoing secrets', async () => {
    const { requestUrl, requestToken: bearer } = oidc.defaultRequest;
    const wrong = await requestToken(requestUrl, `bearer ${bearer}x`);
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(bearer);
    const other = oidc.issue({ repository: 'acme/other' });
    expect((await requestToken(requestUrl, `bearer ${other.requestToken}`)).status).toBe(401);
    expect((await requestToken(other.requestUrl, `bearer ${bearer}`)).status).toBe(401);
  });

  it("uses GitHub's default audience (https://github.com/<owner>) when none is asked for", async () => {
    const { requestUrl, requestToken: bearer } = oidc.defaultRequest;
    const { body } = await requestToken(requestUrl, `bearer ${bearer}`, null);
    expect(decodeJwt(body.value as string).claims.aud).toBe('https://github.com/kupecloud');
    const custom = await requestToken(requestUrl, `bearer ${bearer}`, 'my-audience');
    expect(decodeJwt(custom.body.value as string).claims.aud).toBe('my-audience');
  });

  it('issues tokens with the claims registered by issue(), derived claims following', async () => {
    const request = oidc.issue({ repository: 'acme/app', ref: 'refs/tags/v1.2.3', repository_visibility: 'private' });
    const { body } = await requestToken(request.requestUrl, `bearer ${request.requestToken}`);
    const { claims } = decodeJwt(body.value as string);
    expect(claims).toMatchObject({
      repository: 'acme/app',
      repository_owner: 'acme',
      repository_visibility: 'private',
      ref_type: 'tag',
      sub: 'repo:acme/app:ref:refs/tags/v1.2.3',
      workflow_ref: 'acme/app/.github/workflows/release.yml@refs/tags/v1.2.3',
      job_workflow_ref: 'acme/app/.github/workflows/release.yml@refs/tags/v1.2.3',
    });
  });
});

describe('claims', () => {
  it('keeps explicit overrides (a reusable workflow) and GitHub sub formats', () => {
    const reusable = completeClaims({ job_workflow_ref: 'acme/workflows/.github/workflows/sign.yml@refs/heads/main' });
    expect(reusable.job_workflow_ref).toBe('acme/workflows/.github/workflows/sign.yml@refs/heads/main');
    expect(reusable.workflow_ref).toBe('kupecloud/demo-app/.github/workflows/release.yml@refs/heads/main');
    expect(completeClaims({ environment: 'prod' }).sub).toBe('repo:kupecloud/demo-app:environment:prod');
    expect(completeClaims({ event_name: 'pull_request' }).sub).toBe('repo:kupecloud/demo-app:pull_request');
  });
});

describe('discovery', () => {
  it('publishes an OpenID configuration and a JWKS holding the signing key', async () => {
    const config = (await (await fetch(`${oidc.url}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    expect(config.issuer).toBe(oidc.issuer);
    const jwks = (await (await fetch(config.jwks_uri)).json()) as { keys: (crypto.JsonWebKey & { kid: string })[] };
    expect(jwks.keys).toHaveLength(1);
    const { requestUrl, requestToken: bearer } = oidc.defaultRequest;
    const token = (await requestToken(requestUrl, `bearer ${bearer}`)).body.value as string;
    const { header } = decodeJwt(token);
    expect(header.kid).toBe(jwks.keys[0].kid);
    const published = crypto.createPublicKey({ key: jwks.keys[0], format: 'jwk' });
    expect(() => verifyJwt(token, { publicKey: published, issuer: oidc.issuer, audience: 'sigstore' })).not.toThrow();
  });

  it('rejects a token whose signature was tampered with', async () => {
    const { requestUrl, requestToken: bearer } = oidc.defaultRequest;
    const token = (await requestToken(requestUrl, `bearer ${bearer}`)).body.value as string;
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token).claims, repository: 'evil/app' })).toString('base64url');
    expect(() => verifyJwt(`${h}.${forged}.${s}`, { publicKey: oidc.publicKey, issuer: oidc.issuer, audience: 'sigstore' })).toThrow(/signature/);
  });
});
