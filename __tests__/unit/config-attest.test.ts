/**
 * The attestation inputs are checked before anything is sent: every mistake
 * names its input and says how to fix it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config.js';
import { thrown } from '../helpers/thrown.js';

const D = `sha256:${'1'.repeat(64)}`;
let dir: string;
let sbom: string;
let big: string;
let medium: string;
let notJson: string;
let array: string;
let privateEvent: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'config-attest-'));
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  sbom = write('sbom.spdx.json', JSON.stringify({ spdxVersion: 'SPDX-2.3', packages: [] }));
  medium = write('medium.json', JSON.stringify({ data: 'x'.repeat(2 * 1024 * 1024) }));
  big = write('big.json', Buffer.alloc(16 * 1024 * 1024 + 1, 0x20));
  notJson = write('sbom.txt', 'SPDXVersion: SPDX-2.3');
  array = write('array.json', '[1,2]');
  privateEvent = write('private.json', JSON.stringify({ repository: { visibility: 'private', private: true } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example/x?y=1', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token-0123456789abcdef', RUNNER_TEMP: os.tmpdir() };
const CUSTOM = { sigstore: 'custom', 'fulcio-url': 'https://fulcio.example.com', 'rekor-url': 'https://rekor.example.com', verify: 'false' };
const parse = (inputs: Record<string, string>) => parseConfig((n) => ({ images: `ghcr.io/acme/app@${D}`, ...inputs })[n] ?? '', ENV);

describe('attestation inputs', () => {
  it('none by default; provenance and a custom predicate (inline or file) when asked', () => {
    expect(parse({}).attest).toEqual({ provenance: false });
    expect(parse({ attest: 'provenance' }).attest).toEqual({ provenance: true });
    expect(parse({ 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': sbom }).attest?.custom).toEqual({
      predicateType: 'https://spdx.dev/Document',
      predicate: { spdxVersion: 'SPDX-2.3', packages: [] },
      source: `predicate-path (${sbom})`,
    });
    expect(parse({ attest: 'Provenance\n', 'predicate-type': 'https://example.com/p/v1', predicate: '{"a":1}' }).attest).toEqual({
      provenance: true,
      custom: { predicateType: 'https://example.com/p/v1', predicate: { a: 1 }, source: 'predicate' },
    });
  });

  it('in verify mode, leaves them to verify mode', () => {
    const c = parseConfig((n) => ({ mode: 'verify', images: `ghcr.io/acme/app@${D}`, 'certificate-identity': 'https://x', attest: 'nonsense' })[n] ?? '', ENV);
    expect(c.attest).toBeUndefined();
  });

  it.each([
    [{ attest: 'sbom' }, 'attest', /"sbom" is not an attestation this action builds/],
    [{ predicate: '{}' }, 'predicate-type', /predicate is set without predicate-type/],
    [{ 'predicate-path': 'x.json' }, 'predicate-type', /predicate-path is set without predicate-type/],
    [{ 'predicate-type': 'spdx', predicate: '{}' }, 'predicate-type', /"spdx" is not a URI/],
    [{ 'predicate-type': 'https://spdx.dev/Document' }, 'predicate-path', /neither predicate nor predicate-path/],
    [{ 'predicate-type': 'https://spdx.dev/Document', predicate: '{}', 'predicate-path': 'x' }, 'predicate-path', /both predicate and predicate-path/],
    [{ 'predicate-type': 'https://spdx.dev/Document', predicate: '{"a":' }, 'predicate', /the inline predicate is not JSON/],
    [{ 'predicate-type': 'https://spdx.dev/Document', predicate: '"text"' }, 'predicate', /not an object/],
    [{ 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': '/nonexistent/sbom.json' }, 'predicate-path', /cannot read \/nonexistent\/sbom\.json \(ENOENT\)/],
    [{ attest: 'provenance', 'predicate-type': 'https://slsa.dev/provenance/v1', predicate: '{}' }, 'predicate-type', /keep one|both `attest: provenance`/],
  ])('%j → input `%s`', (inputs, input, message) => {
    const err = thrown(() => parse(inputs as Record<string, string>));
    expect(err.input).toBe(input);
    expect(err.message).toMatch(message);
    expect(err.fix).toBeTruthy();
  });

  it('names a file that is not JSON, or JSON but not an object', () => {
    expect(thrown(() => parse({ 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': notJson })).message).toMatch(/sbom\.txt is not JSON/);
    expect(thrown(() => parse({ 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': array })).message).toMatch(/not an object/);
  });

  it('refuses a predicate over 16 MiB, from its size alone', () => {
    const err = thrown(() => parse({ ...CUSTOM, 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': big }));
    expect(err.input).toBe('predicate-path');
    expect(err.message).toMatch(/the predicate is 16777217 bytes, more than the 16777216 bytes \(16 MiB\)/);
  });

  it('refuses, on the public instance, an envelope larger than public Rekor v1 takes, naming size, limit and options', () => {
    const err = thrown(() => parse({ 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': medium }));
    expect(err.input).toBe('predicate-path');
    expect(err.message).toMatch(/the predicate is 2097\d{3} bytes, so its signed envelope is about 2\d{6} bytes/);
    expect(err.message).toMatch(/at most 1048576 bytes \(1 MiB/);
    expect(err.message).toMatch(/nothing was sent/);
    expect(err.fix).toMatch(/Rekor v2/);
    // A custom instance takes it (its Rekor's own limit applies).
    expect(parse({ ...CUSTOM, 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': medium }).attest?.custom).toBeDefined();
  });

  it('a private repository is guarded as for signatures: nothing is attested in the public log without allow-public-log', () => {
    const inputs = { images: `ghcr.io/acme/app@${D}`, attest: 'provenance', 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': sbom };
    const err = thrown(() => parseConfig((n) => (inputs as Record<string, string>)[n] ?? '', { ...ENV, GITHUB_EVENT_PATH: privateEvent }));
    expect(err.input).toBe('allow-public-log');
    expect(err.message).toMatch(/nothing has been sent/);
    expect(parseConfig((n) => ({ ...inputs, 'allow-public-log': 'true' } as Record<string, string>)[n] ?? '', { ...ENV, GITHUB_EVENT_PATH: privateEvent }).attest?.provenance).toBe(true);
  });
});
