/**
 * The job's GitHub OIDC token, the identity Fulcio certifies. Requested the way
 * the runner documents it (ACTIONS_ID_TOKEN_REQUEST_URL + bearer request token,
 * audience `sigstore`) with our own HTTP stack so it gets retries and timeouts.
 */
import * as core from '@actions/core';
import { ActionError } from '../errors.js';
import { jsonBody, request, type HttpResponse } from '../net/http.js';

export const MISSING_PERMISSION_FIX =
  'add `permissions: id-token: write` to the job (GitHub does not issue the token to pull requests from forks)';

export interface IdToken {
  jwt: string;
  claims: Record<string, unknown>;
}

/** Decodes a JWT's claims without checking its signature (Fulcio checks it). */
export function decodeJwtClaims(jwt: string): Record<string, unknown> {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new ActionError('the identity token is not a JWT', { fix: MISSING_PERMISSION_FIX });
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ActionError('the identity token has unreadable claims');
  }
}

/** The subject Fulcio asks us to prove we hold the key for (sigstore-js does the same). */
export function challengeSubject(claims: Record<string, unknown>): string {
  const iss = String(claims.iss ?? '');
  if (iss === 'https://accounts.google.com' && typeof claims.email === 'string') return claims.email;
  return String(claims.sub ?? '');
}

export async function requestIdToken(url: string | undefined, requestToken: string | undefined, audience = 'sigstore'): Promise<IdToken> {
  if (!url || !requestToken) {
    throw new ActionError('no GitHub OIDC token is available (ACTIONS_ID_TOKEN_REQUEST_URL is not set)', {
      fix: MISSING_PERMISSION_FIX,
    });
  }
  core.setSecret(requestToken);
  const target = new URL(url);
  target.searchParams.set('audience', audience);
  let res: HttpResponse;
  try {
    // 5xx, 429, resets and timeouts are retried by request(), within its budget.
    res = await request({
      url: target.toString(),
      headers: { Authorization: `bearer ${requestToken}`, Accept: 'application/json; api-version=2.0' },
      timeoutMs: 15_000,
    });
  } catch (err) {
    throw new ActionError(`could not get the GitHub OIDC token: ${(err as Error).message.split(requestToken).join('***')}`, {
      fix: 're-run the job; if it persists, check https://www.githubstatus.com',
      cause: err,
    });
  }
  if (res.status !== 200) {
    throw new ActionError(`GitHub refused the OIDC token request (HTTP ${res.status})`, {
      fix: `${MISSING_PERMISSION_FIX}; if it is there, re-run the job (request tokens expire with the job)`,
    });
  }
  let value: string | undefined;
  try {
    value = jsonBody<{ value?: string }>(res).value;
  } catch {
    throw new ActionError('the OIDC token endpoint answered with something that is not JSON', { fix: 're-run the job' });
  }
  if (!value) throw new ActionError('the OIDC token endpoint answered without a token', { fix: 're-run the job' });
  core.setSecret(value);
  return { jwt: value, claims: decodeJwtClaims(value) };
}
