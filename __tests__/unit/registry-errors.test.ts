import type { HttpResponse } from '../../src/net/http.js';
import { accessDeniedError, imageNotFoundError, parseRegistryErrors, quoteRegistrySaid, unreachableError } from '../../src/registry/errors.js';

function response(status: number, body: string): HttpResponse {
  return { status, headers: new Headers(), body: Buffer.from(body), url: 'https://x/v2/' };
}

const denied = '{"errors":[{"code":"DENIED","message":"permission_denied: write_package"}]}';

describe('registry error messages', () => {
  it('parses and quotes distribution error bodies', () => {
    expect(parseRegistryErrors(denied)).toEqual([{ code: 'DENIED', message: 'permission_denied: write_package' }]);
    expect(parseRegistryErrors('not json')).toEqual([]);
    expect(quoteRegistrySaid(denied)).toBe('DENIED: "permission_denied: write_package"');
    expect(quoteRegistrySaid('<html>  oops </html>')).toBe('"<html> oops </html>"');
  });

  it('on a ghcr.io push refusal names image, registry, credential source and the three fixes, never the secret', () => {
    const secret = 'ghp_SuperSecretValue123';
    const err = accessDeniedError({
      repo: { registry: 'ghcr.io', repository: 'acme/app' },
      ref: 'sha256-abc.sig',
      action: 'push',
      res: response(403, denied.replace('write_package', `token ${secret} lacks write_package`)),
      credential: { username: 'octo', password: secret, source: '~/.docker/config.json auths["ghcr.io"]' },
      redact: (s) => s.split(secret).join('***'),
    });
    expect(err.message).toContain('ghcr.io/acme/app:sha256-abc.sig');
    expect(err.message).toContain('ghcr.io refused to let us write to acme/app (HTTP 403 DENIED');
    expect(err.message).toContain('with the credentials from ~/.docker/config.json auths["ghcr.io"]');
    expect(err.message).toContain('permissions: packages: write');
    expect(err.message).toContain('docker/login-action');
    expect(err.message).toContain('Manage Actions access');
    expect(err.message).not.toContain(secret);
  });

  it('elsewhere suggests a login step or the registry-username/registry-password inputs', () => {
    const err = accessDeniedError({
      repo: { registry: 'quay.io', repository: 'acme/app' },
      action: 'push',
      res: response(401, ''),
      credential: { source: 'anonymous', notes: ['docker-credential-desktop could not be run (not found)'] },
    });
    expect(err.message).toMatch(/without credentials \(none found for quay\.io in the registry-username\/registry-password inputs, the Docker config; docker-credential-desktop could not be run/);
    expect(err.message).toMatch(/Fix: log in first with a `docker\/login-action` step for quay\.io, or set the `registry-username` and `registry-password` inputs/);
    expect(err.message).not.toContain('Manage Actions access');
  });

  it('says how to fix a missing image and an unreachable host', () => {
    expect(imageNotFoundError({ registry: 'ghcr.io', repository: 'acme/app' }, 'sha256:' + 'a'.repeat(64)).message).toBe(
      `ghcr.io/acme/app@sha256:${'a'.repeat(64)}: not found in the registry. Fix: push it first (docker/build-push-action with push: true) or check the name/digest`,
    );
    const cause = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) });
    expect(unreachableError('nope.example', cause).message).toBe(
      "could not reach nope.example (ENOTFOUND). Fix: check the name, the network, or the registry's status",
    );
  });
});
