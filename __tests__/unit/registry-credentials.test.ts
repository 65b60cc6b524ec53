import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DefaultCredentialResolver, type CredentialSources } from '../../src/registry/credentials.js';
import { configKeyHost } from '../../src/registry/docker-config.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('DefaultCredentialResolver', () => {
  let dir: string;
  let binDir: string;
  let masked: string[];
  const originalPath = process.env.PATH;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'registry-creds-'));
    binDir = join(dir, 'bin');
    mkdirSync(binDir);
    masked = [];
    // A fake credential helper, as Docker would call it: `docker-credential-test get`, the host on stdin.
    const helper = join(binDir, 'docker-credential-test');
    writeFileSync(
      helper,
      `#!/bin/sh
read host
case "$host" in
  helped.example) echo '{"ServerURL":"helped.example","Username":"helper-user","Secret":"helper-secret"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-secret"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"hub","Username":"hub-user","Secret":"hub-secret"}' ;;
  broken.example) echo "keychain locked" >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    chmodSync(helper, 0o755);
    process.env.PATH = `${binDir}${delimiter}${originalPath}`;
  });

  afterEach(() => {
    process.env.PATH = originalPath;
    rmSync(dir, { recursive: true, force: true });
  });

  function resolver(config: object | undefined, extra: Partial<CredentialSources> = {}): DefaultCredentialResolver {
    const configDir = join(dir, 'docker');
    mkdirSync(configDir, { recursive: true });
    if (config) writeFileSync(join(configDir, 'config.json'), JSON.stringify(config));
    return new DefaultCredentialResolver({ env: { DOCKER_CONFIG: configDir }, home: dir, mask: (s) => masked.push(s), ...extra });
  }

  it('prefers the explicit inputs for every registry', async () => {
    const r = resolver({ auths: { 'ghcr.io': { auth: b64('cfg:cfg-pass') } } }, { explicit: { username: 'u', password: 'p4ss' }, githubToken: 'ghs_x' });
    for (const host of ['ghcr.io', 'quay.io']) {
      expect(await r.resolve(host)).toEqual({ username: 'u', password: 'p4ss', source: 'registry-username/registry-password inputs' });
    }
    expect(masked).toContain('p4ss');
  });

  it('reads auths with `auth`, with username/password, and with an identity token, matching key spellings', async () => {
    const r = resolver({
      auths: {
        'https://ghcr.io': { auth: b64('octo:ghp_secret:with:colons') },
        'quay.io/v1/': { username: 'qu', password: 'qpass' },
        'registry.example.com': { identitytoken: 'idtok-123' },
        'https://index.docker.io/v1/': { auth: b64('hubber:hubpass') },
      },
    });
    expect(await r.resolve('ghcr.io')).toEqual({ username: 'octo', password: 'ghp_secret:with:colons', source: '$DOCKER_CONFIG/config.json auths["https://ghcr.io"]' });
    expect(await r.resolve('quay.io')).toMatchObject({ username: 'qu', password: 'qpass' });
    expect(await r.resolve('registry.example.com')).toMatchObject({ identityToken: 'idtok-123' });
    expect(await r.resolve('index.docker.io')).toMatchObject({ username: 'hubber', password: 'hubpass' });
    expect(masked).toEqual(expect.arrayContaining(['ghp_secret:with:colons', 'qpass', 'idtok-123', 'hubpass', b64('qu:qpass')]));
  });

  it('uses ~/.docker/config.json without DOCKER_CONFIG and names it so', async () => {
    mkdirSync(join(dir, '.docker'));
    writeFileSync(join(dir, '.docker', 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('a:b1234') } } }));
    const r = new DefaultCredentialResolver({ env: {}, home: dir, mask: () => {} });
    expect((await r.resolve('ghcr.io')).source).toBe('~/.docker/config.json auths["ghcr.io"]');
  });

  it('asks credHelpers[host], then credsStore, through docker-credential-<name> on PATH', async () => {
    const r = resolver({ auths: { 'helped.example': {} }, credHelpers: { 'helped.example': 'test' }, credsStore: 'test' });
    expect(await r.resolve('helped.example')).toEqual({ username: 'helper-user', password: 'helper-secret', source: 'docker-credential-test' });
    expect(await r.resolve('token.example')).toEqual({ identityToken: 'refresh-secret', source: 'docker-credential-test' });
    expect(await r.resolve('docker.io')).toMatchObject({ username: 'hub-user', password: 'hub-secret' });
    expect(masked).toEqual(expect.arrayContaining(['helper-secret', 'refresh-secret', 'hub-secret']));
  });

  it('treats "credentials not found" as no credentials and falls through to github-token for ghcr.io only', async () => {
    const r = resolver({ credsStore: 'test' }, { githubToken: 'ghs_token' });
    expect(await r.resolve('ghcr.io')).toMatchObject({ username: 'x-access-token', password: 'ghs_token', source: 'github-token input', notes: [] });
    expect(await r.resolve('quay.io')).toEqual({ source: 'anonymous', notes: [] });
  });

  it('notes a failing or missing helper instead of throwing, without its output on success', async () => {
    const broken = await resolver({ credsStore: 'test' }).resolve('broken.example');
    expect(broken.source).toBe('anonymous');
    expect(broken.notes?.[0]).toMatch(/docker-credential-test failed \(exit 3: keychain locked\)/);
    const missing = await resolver({ credHelpers: { 'quay.io': 'nosuchhelper' } }).resolve('quay.io');
    expect(missing.notes?.[0]).toMatch(/docker-credential-nosuchhelper could not be run/);
  });

  it('is anonymous without any config, and says why a config is unusable', async () => {
    expect(await resolver(undefined).resolve('ghcr.io')).toEqual({ source: 'anonymous', notes: [] });
    const configDir = join(dir, 'bad');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'config.json'), '{not json');
    const r = new DefaultCredentialResolver({ env: { DOCKER_CONFIG: configDir }, mask: () => {} });
    await expect(r.resolve('ghcr.io')).rejects.toThrow(/is not valid JSON.*Fix: run the docker\/login-action step again/);
  });

  it('asks a helper once per host for the run', async () => {
    const counter = join(dir, 'count');
    const helper = join(binDir, 'docker-credential-counting');
    writeFileSync(helper, `#!/bin/sh\necho x >> "${counter}"\necho '{"Username":"u","Secret":"s3cret"}'\n`);
    chmodSync(helper, 0o755);
    const r = resolver({ credsStore: 'counting' });
    await Promise.all([r.resolve('a.example'), r.resolve('a.example'), r.resolve('A.example')]);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});

describe('configKeyHost', () => {
  it.each([
    ['https://ghcr.io', 'ghcr.io'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['http://localhost:5000/v2/', 'localhost:5000'],
    ['Quay.io', 'quay.io'],
  ])('%s → %s', (key, host) => expect(configKeyHost(key)).toBe(host));
});
