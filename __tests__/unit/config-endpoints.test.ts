/**
 * A custom instance's endpoints: `tsa-url` as a base URL or the full RFC 3161
 * endpoint, and verify mode taking Fulcio's and Rekor's URLs from the trusted
 * root (sign mode still needs them given).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { timestampEndpoint, urlsFromTrustedRoot } from '../../src/config-endpoints.js';
import { parseConfig } from '../../src/config.js';
import { thrown } from '../helpers/thrown.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const NOW = new Date('2026-06-01T00:00:00Z');
const fixtureRoot = JSON.parse(readFileSync(new URL('../fixtures/real-world/public-good-trusted-root.json', import.meta.url), 'utf8')) as unknown;
const seeds = createRequire(import.meta.url)('@sigstore/tuf/seeds.json') as Record<string, { targets: Record<string, string> }>;
const seededRoot = JSON.parse(Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'], 'base64').toString('utf8')) as unknown;

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'config-endpoints-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const writeRoot = (root: unknown): string => {
  const file = path.join(dir, `root-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(root));
  return file;
};
const env: NodeJS.ProcessEnv = {
  RUNNER_TEMP: '/runner/temp',
  GITHUB_REPOSITORY: 'acme/app',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example/request',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
};
const parse = (inputs: Record<string, string>) => parseConfig((name) => inputs[name] ?? '', env);
const verifyOnly = (trustedRoot: string, extra: Record<string, string> = {}) =>
  parse({ mode: 'verify', images: `ghcr.io/acme/app@${D1}`, 'certificate-identity': 'x', sigstore: 'custom', 'trusted-root': trustedRoot, ...extra });
const signing = { images: `ghcr.io/acme/app@${D1}`, sigstore: 'custom', 'fulcio-url': 'https://fulcio.example.com', 'rekor-url': 'https://rekor.example.com', verify: 'false' };

describe('tsa-url: a base URL or the full RFC 3161 endpoint', () => {
  it.each([
    ['https://timestamp.example', 'https://timestamp.example/api/v1/timestamp'],
    ['https://timestamp.example/', 'https://timestamp.example/api/v1/timestamp'],
    ['http://127.0.0.1:4000', 'http://127.0.0.1:4000/api/v1/timestamp'],
    ['https://timestamp.example/api/v1/timestamp', 'https://timestamp.example/api/v1/timestamp'],
    ['https://tsa.example/tsr', 'https://tsa.example/tsr'],
    ['https://tsa.example/sigstore/api/v1/timestamp', 'https://tsa.example/sigstore/api/v1/timestamp'],
  ])('%s is sent to %s', (given, sent) => {
    expect(parse({ ...signing, 'tsa-url': given }).sigstore.tsaUrl).toBe(sent);
  });

  it('timestampEndpoint leaves a URL with a path alone', () => {
    expect(timestampEndpoint('https://freetsa.example/tsr')).toBe('https://freetsa.example/tsr');
    expect(timestampEndpoint('https://timestamp.sigstore.dev')).toBe('https://timestamp.sigstore.dev/api/v1/timestamp');
  });
});

describe('the instance URLs a trusted root names', () => {
  const ca = (uri: string, start: string, end?: string) => ({ uri, validFor: { start, ...(end ? { end } : {}) } });
  const tlog = (baseUrl: string, start: string, end?: string) => ({ baseUrl, publicKey: { validFor: { start, ...(end ? { end } : {}) } } });

  it('the public-good root of the fixtures: fulcio.sigstore.dev and rekor.sigstore.dev', () => {
    expect(urlsFromTrustedRoot(fixtureRoot, NOW)).toEqual({ fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev' });
  });

  it('the newer public-good root seeded in @sigstore/tuf: its newest log shard', () => {
    expect(urlsFromTrustedRoot(seededRoot, NOW)).toEqual({ fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://log2025-1.rekor.sigstore.dev' });
  });

  it('takes the newest service valid now: not an ended one, not one that has not started, the last listed on a tie', () => {
    const root = {
      certificateAuthorities: [
        ca('https://old-ca.example', '2020-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
        ca('https://ca.example/', '2024-01-01T00:00:00Z'),
        ca('https://future-ca.example', '2027-01-01T00:00:00Z'),
        ca('https://older-ca.example', '2023-01-01T00:00:00Z'),
      ],
      tlogs: [tlog('https://log-a.example', '2025-01-01T00:00:00Z'), tlog('https://log-b.example', '2025-01-01T00:00:00Z')],
    };
    expect(urlsFromTrustedRoot(root, NOW)).toEqual({ fulcioUrl: 'https://ca.example', rekorUrl: 'https://log-b.example' });
  });

  it('skips what is not an http(s) URL, and names nothing when nothing is valid', () => {
    const root = { certificateAuthorities: [ca('ftp://ca.example', '2020-01-01T00:00:00Z'), { uri: 42 }], tlogs: [tlog('https://log.example', '2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z')] };
    expect(urlsFromTrustedRoot(root, NOW)).toEqual({});
    expect(urlsFromTrustedRoot(null, NOW)).toEqual({});
    expect(urlsFromTrustedRoot({ tlogs: 'none' }, NOW)).toEqual({});
  });
});

describe('verify mode with sigstore: custom and trusted-root only', () => {
  it('takes fulcio-url and rekor-url from the trusted root', () => {
    const file = writeRoot(fixtureRoot);
    expect(verifyOnly(file).sigstore).toEqual({
      kind: 'custom',
      fulcioUrl: 'https://fulcio.sigstore.dev',
      rekorUrl: 'https://rekor.sigstore.dev',
      rekorUrlFromTrustedRoot: true,
      trustedRootPath: file,
    });
  });

  it('keeps the URLs given', () => {
    const config = verifyOnly(writeRoot(fixtureRoot), { 'fulcio-url': 'https://fulcio.example.com', 'rekor-url': 'https://rekor.example.com/' });
    expect(config.sigstore).toMatchObject({ fulcioUrl: 'https://fulcio.example.com', rekorUrl: 'https://rekor.example.com' });
    expect(config.sigstore.rekorUrlFromTrustedRoot).toBeUndefined();
  });

  it('names the missing input when the trusted root names no service valid now', () => {
    const file = writeRoot({ tlogs: [{ baseUrl: 'https://rekor.example.com' }] });
    const err = thrown(() => verifyOnly(file));
    expect(err.input).toBe('fulcio-url');
    expect(err.message).toContain(`the trusted root ${file} names no certificate authority`);
    expect(err.fix).toContain('set fulcio-url');
  });

  it('asks for the trusted root first', () => {
    expect(thrown(() => verifyOnly('')).input).toBe('trusted-root');
  });
});

describe('sign mode still needs the URLs given', () => {
  it.each(['fulcio-url', 'rekor-url'])('without %s, even with a trusted root naming it, fails naming the input', (name) => {
    const err = thrown(() => parse({ ...signing, [name]: '', verify: 'true', 'trusted-root': writeRoot(fixtureRoot) }));
    expect(err.input).toBe(name);
    expect(err.message).toContain(`${name} is required to sign with a custom Sigstore instance (sigstore: custom)`);
  });
});
