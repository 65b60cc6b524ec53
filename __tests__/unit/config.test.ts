import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config.js';
import { thrown } from '../helpers/thrown.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const PASSWORD = 'hunter2-registry-secret';
const GITHUB_TOKEN = 'ghs_0123456789abcdefSECRET';

let dir: string;
let publicEvent: string;
let privateEvent: string;
let internalEvent: string;
let privateFlagEvent: string;
let trustedRoot: string;
let notJson: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
  const write = (name: string, content: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  publicEvent = write('public.json', JSON.stringify({ repository: { visibility: 'public', private: false } }));
  privateEvent = write('private.json', JSON.stringify({ repository: { visibility: 'private', private: true } }));
  internalEvent = write('internal.json', JSON.stringify({ repository: { visibility: 'internal', private: true } }));
  privateFlagEvent = write('private-flag.json', JSON.stringify({ repository: { private: true } }));
  trustedRoot = write('trusted_root.json', JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }));
  notJson = write('not-json.json', 'certificate authorities: none');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Inputs = Record<string, string>;

function env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    RUNNER_TEMP: '/runner/temp',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_EVENT_PATH: publicEvent,
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example/request?x=1',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'id-token-request-SECRET',
    ...overrides,
  };
}

function parse(inputs: Inputs, environment: NodeJS.ProcessEnv = env()) {
  return parseConfig((name) => inputs[name] ?? '', environment);
}

const signing: Inputs = { images: 'ghcr.io/acme/app', digest: D1 };
const custom: Inputs = { sigstore: 'custom', 'fulcio-url': 'https://fulcio.example.com', 'rekor-url': 'https://rekor.example.com', verify: 'false' };
const verifying: Inputs = { mode: 'verify', images: `ghcr.io/acme/app@${D1}` };

describe('parseConfig: bad inputs fail with the input named and a fix', () => {
  const metadata = (fields: object) => JSON.stringify(fields);
  // [case, inputs, env overrides, input named, message pattern]
  const cases: Array<[string, Inputs, Record<string, string | undefined>, string | undefined, RegExp]> = [
    ['no images at all', {}, {}, 'images', /no image/],
    ['only separators in images', { images: ' , ,\n' }, {}, 'images', /empty/],
    ['images and metadata', { ...signing, metadata: metadata({ 'image.name': 'ghcr.io/a/b', 'containerimage.digest': D1 }) }, {}, 'metadata', /both/],
    ['a malformed digest input', { images: 'ghcr.io/acme/app', digest: 'sha256:1234' }, {}, 'digest', /4 hex digits, not 64/],
    ['a name whose digest differs from the digest input', { images: `ghcr.io/acme/app@${D2}`, digest: D1 }, {}, 'digest', /own digest/],
    ['an image without registry host', { images: 'acme/app', digest: D1 }, {}, 'images', /no registry host/],
    ['an upper-case repository', { images: 'ghcr.io/Acme/app', digest: D1 }, {}, 'images', /lower-case/],
    ['metadata that is not JSON', { metadata: 'image.name=ghcr.io/a/b' }, {}, 'metadata', /not JSON/],
    ['metadata that is a JSON array', { metadata: '[]' }, {}, 'metadata', /not a JSON object/],
    ['metadata without image.name', { metadata: metadata({ 'containerimage.digest': D1 }) }, {}, 'metadata', /"image\.name"/],
    ['metadata without containerimage.digest', { metadata: metadata({ 'image.name': 'ghcr.io/a/b:1' }) }, {}, 'metadata', /"containerimage\.digest"/],
    ['metadata with a malformed digest', { metadata: metadata({ 'image.name': 'ghcr.io/a/b', 'containerimage.digest': 'sha256:zz' }) }, {}, 'metadata', /not hexadecimal/],
    ['metadata and a different digest input', { digest: D2, metadata: metadata({ 'image.name': 'ghcr.io/a/b', 'containerimage.digest': D1 }) }, {}, 'digest', /containerimage\.digest/],
    ['an unknown mode', { ...signing, mode: 'attest' }, {}, 'mode', /"attest"/],
    ['an unknown signature-format', { ...signing, 'signature-format': 'cosign' }, {}, 'signature-format', /"cosign"/],
    ['recursive: true', { ...signing, recursive: 'true' }, {}, 'recursive', /"true"/],
    ['verify: yes', { ...signing, verify: 'yes' }, {}, 'verify', /not a boolean/],
    ['if-signed: ignore', { ...signing, 'if-signed': 'ignore' }, {}, 'if-signed', /"ignore" is not an accepted value/],
    ['if-signed: true', { ...signing, 'if-signed': 'true' }, {}, 'if-signed', /"true"/],
    ['audit: 1', { ...verifying, 'certificate-identity': 'x', audit: '1' }, {}, 'audit', /not a boolean/],
    ['allow-public-log: on', { ...signing, 'allow-public-log': 'on' }, {}, 'allow-public-log', /not a boolean/],
    ['summary: no', { ...signing, summary: 'no' }, {}, 'summary', /not a boolean/],
    ['an annotation without =', { ...signing, annotations: 'team=platform\nowner' }, {}, 'annotations', /"owner" is not key=value/],
    ['an annotation with an empty key', { ...signing, annotations: '=value' }, {}, 'annotations', /not key=value/],
    ['an annotation key given twice', { ...signing, annotations: 'a=1\nb=2\na=3' }, {}, 'annotations', /"a" is given twice/],
    ['verify mode without identity', verifying, {}, 'certificate-identity', /needs the identity/],
    ['verify mode with both identities', { ...verifying, 'certificate-identity': 'x', 'certificate-identity-regexp': 'y' }, {}, 'certificate-identity-regexp', /both/],
    ['an identity regexp that does not compile', { ...verifying, 'certificate-identity-regexp': '^https://github.com/(acme$' }, {}, 'certificate-identity-regexp', /does not compile: .*Unterminated group/],
    ['an unknown sigstore', { ...signing, sigstore: 'staging' }, {}, 'sigstore', /"staging"/],
    ['public-good with a fulcio-url', { ...signing, 'fulcio-url': 'https://fulcio.example.com' }, {}, 'fulcio-url', /public-good/],
    ['public-good with a trusted-root', { ...signing, 'trusted-root': 'root.json' }, {}, 'trusted-root', /public-good/],
    ['custom without fulcio-url', { ...signing, ...custom, 'fulcio-url': '' }, {}, 'fulcio-url', /required/],
    ['custom without rekor-url', { ...signing, ...custom, 'rekor-url': '' }, {}, 'rekor-url', /required/],
    ['custom with a fulcio-url that is not a URL', { ...signing, ...custom, 'fulcio-url': 'fulcio.example.com' }, {}, 'fulcio-url', /not a URL/],
    ['custom with an ftp rekor-url', { ...signing, ...custom, 'rekor-url': 'ftp://rekor.example.com' }, {}, 'rekor-url', /ftp:/],
    ['custom with plain http off loopback', { ...signing, ...custom, 'tsa-url': 'http://tsa.example.com' }, {}, 'tsa-url', /http:/],
    ['custom with a query in the URL', { ...signing, ...custom, 'rekor-url': 'https://rekor.example.com/?x=1' }, {}, 'rekor-url', /query/],
    ['custom verifying without trusted-root', { ...signing, ...custom, verify: 'true' }, {}, 'trusted-root', /trusted root/],
    ['custom verify mode without trusted-root', { ...verifying, ...custom, 'certificate-identity': 'x' }, {}, 'trusted-root', /trusted root/],
    ['if-signed: skip on a custom instance without trusted-root (verify: false)', { ...signing, ...custom, 'if-signed': 'skip' }, {}, 'trusted-root', /trusted root/],
    ['a trusted-root that does not exist', { ...signing, ...custom, 'trusted-root': '/nonexistent/trusted_root.json' }, {}, 'trusted-root', /cannot read \/nonexistent\/trusted_root\.json \(ENOENT\)/],
    ['a registry-username alone', { ...signing, 'registry-username': 'bot' }, {}, 'registry-password', /registry-password is empty/],
    ['a registry-password alone', { ...signing, 'registry-password': PASSWORD }, {}, 'registry-username', /registry-username is empty/],
    ['a private repository on the public log', signing, { GITHUB_EVENT_PATH: 'PRIVATE' }, 'allow-public-log', /private.*repository name, workflow path and ref.*forever/],
    ['an internal repository on the public log', signing, { GITHUB_EVENT_PATH: 'INTERNAL' }, 'allow-public-log', /internal/],
    ['a private repository told by repository.private', signing, { GITHUB_EVENT_PATH: 'PRIVATE_FLAG' }, 'allow-public-log', /private/],
    ['sign mode without the id-token variables', signing, { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined }, undefined, /id-token permission/],
    ['sign mode with only the id-token URL', signing, { ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined }, undefined, /id-token permission/],
  ];

  it.each(cases)('%s', (_name, inputs, overrides, input, what) => {
    const events: Record<string, string> = { PRIVATE: privateEvent, INTERNAL: internalEvent, PRIVATE_FLAG: privateFlagEvent };
    const eventPath = overrides.GITHUB_EVENT_PATH;
    const environment = env({ ...overrides, ...(eventPath ? { GITHUB_EVENT_PATH: events[eventPath] } : {}) });
    const err = thrown(() => parse(inputs, environment));
    expect(err.input).toBe(input);
    expect(err.message).toMatch(what);
    if (input) expect(err.message).toContain(`input \`${input}\``);
    expect(err.fix).toBeTruthy();
    expect(err.message).toContain(`Fix: ${err.fix}`);
  });

  it('has at least 25 cases', () => expect(cases.length).toBeGreaterThanOrEqual(25));

  it.each([
    ['recursive', { ...signing, recursive: 'true' }, 'none, platforms, all'],
    ['signature-format', { ...signing, 'signature-format': 'x' }, 'legacy, bundle, both'],
    ['fulcio-url', { ...signing, 'fulcio-url': 'https://f.example' }, 'sigstore: custom'],
    ['allow-public-log', signing, 'allow-public-log: true'],
  ])('the fix for %s says what to write', (_input, inputs, fix) => {
    const environment = _input === 'allow-public-log' ? env({ GITHUB_EVENT_PATH: privateEvent }) : env();
    expect(thrown(() => parse(inputs, environment)).fix).toContain(fix);
  });

  it('tells the id-token fix exactly', () => {
    const err = thrown(() => parse(signing, env({ ACTIONS_ID_TOKEN_REQUEST_URL: undefined })));
    expect(err.fix).toBe('add `permissions: id-token: write` to the job (for a pull request from a fork, GitHub does not issue the token)');
  });

  it('names the trusted-root file that is not JSON', () => {
    const err = thrown(() => parse({ ...signing, ...custom, 'trusted-root': notJson }));
    expect(err.input).toBe('trusted-root');
    expect(err.message).toContain(notJson);
    expect(err.message).toMatch(/is not JSON/);
  });

  it('never shows a secret, even one pasted into another input', () => {
    const secrets = { 'registry-password': PASSWORD, 'github-token': GITHUB_TOKEN };
    for (const inputs of [
      { ...secrets, images: `ghcr.io/acme/${PASSWORD}`, digest: D1 },
      { ...secrets, images: 'ghcr.io/acme/app', digest: D1, 'registry-username': '' },
      { ...secrets, images: 'ghcr.io/acme/app', digest: D1, mode: GITHUB_TOKEN },
      { ...secrets, ...signing, ...custom, 'fulcio-url': `https://bot:${PASSWORD}@fulcio.example.com` },
    ]) {
      const err = thrown(() => parse(inputs));
      for (const text of [err.message, err.fix ?? '', err.image ?? '']) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(GITHUB_TOKEN);
      }
      expect(err.input).toBeTruthy();
    }
  });
});

describe('parseConfig: good inputs', () => {
  it('gives the documented defaults for a bare name and a digest', () => {
    const config = parse(signing, env({ RUNNER_TEMP: undefined }));
    expect(config).toMatchObject({
      mode: 'sign',
      recursive: 'none',
      signatureFormat: 'legacy',
      annotations: {},
      verify: true,
      ifSigned: 'append',
      audit: false,
      allowPublicLog: false,
      summary: true,
      sigstore: { kind: 'public-good', fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev' },
      runner: { temp: os.tmpdir(), repository: 'acme/app', serverUrl: 'https://github.com', visibility: 'public' },
    });
    expect(config.images).toEqual([{ registry: 'ghcr.io', repository: 'acme/app', digest: D1, original: 'ghcr.io/acme/app' }]);
    expect(config.identity).toBeUndefined();
    expect(config.registryCredentials).toBeUndefined();
    expect(config.sigstore.tsaUrl).toBeUndefined();
  });

  it('keeps name:tag without digest, fills name:tag with the digest input, accepts a matching name@digest', () => {
    expect(parse({ images: 'ghcr.io/acme/app:1.0' }).images).toEqual([{ registry: 'ghcr.io', repository: 'acme/app', tag: '1.0', original: 'ghcr.io/acme/app:1.0' }]);
    const refs = parse({ images: `ghcr.io/acme/app:1.0, ghcr.io/acme/app:2.0@${D1}`, digest: D1 }).images;
    expect(refs.map((r) => [r.tag, r.digest])).toEqual([['1.0', D1], ['2.0', D1]]);
  });

  it('splits on newlines and commas and dedupes identical references after normalisation', () => {
    const refs = parse({ images: `docker.io/nginx\r\nindex.docker.io/library/nginx, registry-1.docker.io/nginx,\n\n[::1]:5000/x,localhost:5000/y`, digest: D2 }).images;
    expect(refs.map((r) => `${r.registry}/${r.repository}@${r.digest}`)).toEqual([
      `index.docker.io/library/nginx@${D2}`,
      `[::1]:5000/x@${D2}`,
      `localhost:5000/y@${D2}`,
    ]);
    expect(refs[0].original).toBe('docker.io/nginx');
  });

  it('reads build-push-action metadata with several names, Docker Hub names included', () => {
    const metadata = JSON.stringify({
      'buildx.build.ref': 'builder/builder0/xyz',
      'containerimage.digest': D1,
      'image.name': 'ghcr.io/acme/app:sha-1,ghcr.io/acme/app:latest, acme/app:latest,ghcr.io/acme/app:latest',
    });
    const refs = parse({ metadata, digest: D1 }).images;
    expect(refs.map((r) => `${r.registry}/${r.repository}:${r.tag}@${r.digest}`)).toEqual([
      `ghcr.io/acme/app:sha-1@${D1}`,
      `ghcr.io/acme/app:latest@${D1}`,
      `index.docker.io/acme/app:latest@${D1}`,
    ]);
  });

  it('sorts annotations by key and splits at the first =', () => {
    const config = parse({ ...signing, annotations: '  zeta = last \n\nalpha=a=b,c\nMid=x' });
    expect(Object.entries(config.annotations)).toEqual([['Mid', 'x'], ['alpha', 'a=b,c'], ['zeta', 'last']]);
  });

  it('accepts values in any case, like core.getBooleanInput', () => {
    const config = parse({ ...signing, verify: 'FALSE', summary: 'False', 'allow-public-log': 'TRUE', recursive: 'Platforms', 'signature-format': 'BOTH', 'if-signed': 'Skip' });
    expect([config.verify, config.summary, config.allowPublicLog, config.recursive, config.signatureFormat, config.ifSigned]).toEqual([false, false, true, 'platforms', 'both', 'skip']);
  });

  it('verify mode: exact identity, default issuer, no id-token needed, private repository fine', () => {
    const config = parse({ ...verifying, 'certificate-identity': 'https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main', audit: 'true' },
      env({ ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined, GITHUB_EVENT_PATH: privateEvent }));
    expect(config.identity).toEqual({ exact: 'https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' });
    expect(config.audit).toBe(true);
  });

  it('verify mode: a regexp and an explicit issuer', () => {
    const config = parse({ ...verifying, 'certificate-identity-regexp': '^https://github\\.com/acme/.*$', 'certificate-oidc-issuer': 'https://issuer.example' });
    expect(config.identity).toEqual({ regexp: '^https://github\\.com/acme/.*$', issuer: 'https://issuer.example' });
  });

  it('sign mode ignores the verify-mode identity inputs', () => {
    expect(parse({ ...signing, 'certificate-identity': 'x', 'certificate-identity-regexp': '(' }).identity).toBeUndefined();
  });

  it('custom instance: URLs normalised, http on loopback allowed, trusted root resolved', () => {
    const config = parse({ ...signing, sigstore: 'custom', 'fulcio-url': 'http://127.0.0.1:3000/fulcio/', 'rekor-url': 'https://Rekor.Example.com//', 'tsa-url': 'http://[::1]:4000', 'trusted-root': trustedRoot, verify: 'true' },
      env({ GITHUB_EVENT_PATH: privateEvent }));
    expect(config.sigstore).toEqual({ kind: 'custom', fulcioUrl: 'http://127.0.0.1:3000/fulcio', rekorUrl: 'https://rekor.example.com', tsaUrl: 'http://[::1]:4000/api/v1/timestamp', trustedRootPath: trustedRoot });
  });

  it('custom instance without verification needs no trusted root', () => {
    expect(parse({ ...signing, ...custom }).sigstore.trustedRootPath).toBeUndefined();
  });

  it('a private repository may sign publicly when it says so', () => {
    expect(parse({ ...signing, 'allow-public-log': 'true' }, env({ GITHUB_EVENT_PATH: privateEvent })).runner.visibility).toBe('private');
  });

  it('reads the runner environment and the credentials', () => {
    const config = parse({ ...signing, 'registry-username': 'bot', 'registry-password': PASSWORD, 'github-token': GITHUB_TOKEN },
      env({ GITHUB_SERVER_URL: 'https://ghe.example.com/', GITHUB_EVENT_PATH: path.join(dir, 'missing.json') }));
    expect(config.registryCredentials).toEqual({ username: 'bot', password: PASSWORD });
    expect(config.githubToken).toBe(GITHUB_TOKEN);
    expect(config.runner).toEqual({
      temp: '/runner/temp', repository: 'acme/app', serverUrl: 'https://ghe.example.com',
      idTokenUrl: 'https://token.example/request?x=1', idTokenRequestToken: 'id-token-request-SECRET',
    });
  });
});
