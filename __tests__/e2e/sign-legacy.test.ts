/**
 * End to end: dist/index.js run as the GitHub runner would, against the
 * sandbox's real registries and Sigstore; what landed in the registry is
 * checked against formats.md by __tests__/helpers/legacy-checks.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, getManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor } from '../../sandbox/runner.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { readAndCheckLegacy, type TrustedRootJson } from '../helpers/legacy-checks.js';
import { everythingPrinted } from '../helpers/visible.js';

let sandbox: Sandbox;
let open: RegistryAccess & { host: string };
let token: RegistryAccess & { host: string };
let trustedRoot: TrustedRootJson;
const claims = defaultClaims();
const IDENTITY = `https://github.com/${claims.job_workflow_ref}`;

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open', 'token'] });
  open = sandbox.registries.open!;
  token = sandbox.registries.token!;
  trustedRoot = sandbox.sigstore!.trustedRoot as TrustedRootJson;
}, 60_000);
afterAll(() => sandbox?.stop());

const sign = (inputs: Record<string, string>, env: Record<string, string | undefined> = {}) =>
  runAction({ inputs: { ...sigstoreInputsFor(sandbox), ...inputs }, env: { ...runnerEnvFor(sandbox), ...env } });

async function rekorTreeSize(): Promise<number> {
  const res = await fetch(`${sandbox.sigstore!.rekorUrl}/api/v1/log`);
  return ((await res.json()) as { treeSize: number }).treeSize;
}

describe('legacy signing, end to end', () => {
  it('signs a digest and stores a cosign-compatible .sig that verifies independently', async () => {
    const img = await pushImage(open, 'acme/app', { tag: 'v1' });
    const run = await sign({ images: `${open.host}/acme/app`, digest: img.digest, annotations: 'env=prod\nteam=core' });
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);

    const { signatures } = await readAndCheckLegacy(open, 'acme/app', img.digest, `${open.host}/acme/app`, trustedRoot, { env: 'prod', team: 'core' });
    expect(signatures).toHaveLength(1);
    const [sig] = signatures;
    expect(sig.identity).toBe(IDENTITY);
    expect(sig.issuerV1).toBe('https://token.actions.githubusercontent.com');
    expect(sig.issuerV8).toBe('https://token.actions.githubusercontent.com');
    // tsa-url was given (the sandbox inputs include it): the layer carries cosign's timestamp annotation.
    expect(Object.keys(JSON.parse(sig.annotations['dev.sigstore.cosign/rfc3161timestamp']))).toEqual(['SignedRFC3161Timestamp']);

    const out = run.outputs;
    const records = JSON.parse(out.signatures);
    expect(records).toEqual([
      expect.objectContaining({
        image: `${open.host}/acme/app@${img.digest}`,
        digest: img.digest,
        format: 'legacy',
        reference: `${open.host}/acme/app:${img.digest.replace(':', '-')}.sig`,
        rekor: expect.objectContaining({ logIndex: sig.logIndex, integratedTime: sig.integratedTime }),
      }),
    ]);
    const entry = JSON.parse(out['transparency-log-entry']);
    expect(entry).toMatchObject({ logIndex: sig.logIndex, kind: 'hashedrekord' });
    expect(out['rekor-log-index']).toBe(String(sig.logIndex));
    expect(out['rekor-entry-url']).toBe(`${sandbox.sigstore!.rekorUrl}/api/v1/log/entries?logIndex=${sig.logIndex}`);
    const fromLog = await (await fetch(out['rekor-entry-url'])).json();
    expect(Object.values(fromLog as object)[0]).toMatchObject({ logIndex: sig.logIndex });
    expect(out['certificate-identity']).toBe(IDENTITY);
    expect(out['certificate-oidc-issuer']).toBe('https://token.actions.githubusercontent.com');
    expect(out.verified).toBe('true');
    expect(out['verify-commands']).toContain(IDENTITY);
    expect(out['bundle-path'].startsWith(run.runnerTemp)).toBe(true);
    const bundle = JSON.parse(fs.readFileSync(records[0].bundlePath, 'utf8'));
    expect(bundle.messageSignature.signature).toBe(sig.annotations['dev.cosignproject.cosign/signature']);
    expect(run.summary).toContain('| image | digest | format | stored at | log entry | verified |');
    expect(run.summary).toContain(IDENTITY);
  });

  it('adds no timestamp annotation without tsa-url', async () => {
    const img = await pushImage(open, 'acme/nots');
    const run = await sign({ images: `${open.host}/acme/nots@${img.digest}`, 'tsa-url': '' });
    expect(run.code).toBe(0);
    const { signatures } = await readAndCheckLegacy(open, 'acme/nots', img.digest, `${open.host}/acme/nots`, trustedRoot);
    expect(signatures[0].annotations).not.toHaveProperty('dev.sigstore.cosign/rfc3161timestamp');
  });

  it('appends to an existing .sig, keeping the earlier layer byte for byte', async () => {
    const img = await pushImage(open, 'acme/append');
    const first = await sign({ images: `${open.host}/acme/append@${img.digest}` });
    expect(first.code).toBe(0);
    const before = await readAndCheckLegacy(open, 'acme/append', img.digest, `${open.host}/acme/append`, trustedRoot);
    const second = await sign({ images: `${open.host}/acme/append@${img.digest}` });
    expect(second.code).toBe(0);
    const after = await readAndCheckLegacy(open, 'acme/append', img.digest, `${open.host}/acme/append`, trustedRoot);
    expect(after.signatures).toHaveLength(2);
    expect(after.signatures[0].rawLayer).toBe(before.signatures[0].rawLayer);
    expect(after.signatures[0].rawLayer.length).toBeGreaterThan(100);
  });

  it('keeps every signature when 8 runs sign one digest at the same moment', async () => {
    const img = await pushImage(open, 'acme/race');
    const runs = await Promise.all(Array.from({ length: 8 }, () => sign({ images: `${open.host}/acme/race@${img.digest}` })));
    runs.forEach((r) => expect([r.code, r.stdout.split('\n').filter((l) => l.startsWith('::error'))]).toEqual([0, []]));
    const { signatures } = await readAndCheckLegacy(open, 'acme/race', img.digest, `${open.host}/acme/race`, trustedRoot);
    const logged = runs.map((r) => Number(r.outputs['rekor-log-index'])).sort();
    expect(signatures.map((s) => s.logIndex).sort()).toEqual(logged);
  }, 120_000);

  it('signs each repository@digest once, across names, tags, repositories and registries', async () => {
    const a = await pushImage(open, 'acme/multi', { tag: 'latest' });
    const b = await pushImage(token, 'team/other');
    const images = [
      `${open.host}/acme/multi:latest@${a.digest}`,
      `${open.host}/acme/multi:v2@${a.digest}`,
      `${open.host}/acme/multi@${a.digest}`,
      `${token.host}/team/other@${b.digest}`,
    ].join('\n');
    const run = await sign({ images, 'registry-username': token.username!, 'registry-password': token.password! });
    expect(everythingPrinted(run)).not.toContain(token.password!);
    expect(run.code).toBe(0);
    const records = JSON.parse(run.outputs.signatures) as { image: string }[];
    expect(records.map((r) => r.image).sort()).toEqual([`${open.host}/acme/multi@${a.digest}`, `${token.host}/team/other@${b.digest}`].sort());
    expect((await readAndCheckLegacy(open, 'acme/multi', a.digest, `${open.host}/acme/multi`, trustedRoot)).signatures).toHaveLength(1);
    expect((await readAndCheckLegacy(token, 'team/other', b.digest, `${token.host}/team/other`, trustedRoot)).signatures).toHaveLength(1);
  });

  it('fails when what it wrote does not verify against the trusted root, keeping the outputs of what was written', async () => {
    const img = await pushImage(open, 'acme/untrusted');
    const emptyRoot = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'root-')), 'trusted_root.json');
    fs.writeFileSync(emptyRoot, '{}');
    const run = await sign({ images: `${open.host}/acme/untrusted@${img.digest}`, 'trusted-root': emptyRoot });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/written, but does not verify/);
    expect(run.outputs.verified).toBe('false');
    expect(JSON.parse(run.outputs.signatures)).toHaveLength(1);
    expect(run.summary.split('\n')[0]).toMatch(/^## ❌ 1 signature\(s\) failed/);
  });

  it('resolves a tag to its digest, warns, and signs the digest', async () => {
    const img = await pushImage(open, 'acme/tagged', { tag: 'release' });
    const run = await sign({ images: `${open.host}/acme/tagged:release` });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`::warning::.*resolved tag 'release' to ${img.digest}`));
    expect(JSON.parse(run.outputs.signatures)[0].digest).toBe(img.digest);
  });
});

describe('legacy signing refuses before writing anything', () => {
  it('fails without the id-token permission, naming the line to add', async () => {
    const img = await pushImage(open, 'acme/noperm');
    const run = await sign({ images: `${open.host}/acme/noperm@${img.digest}` }, { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('permissions: id-token: write');
    expect(await getManifest(open, 'acme/noperm', `${img.digest.replace(':', '-')}.sig`)).toBeUndefined();
  });

  it('refuses a private repository on the public instance unless allow-public-log is set', async () => {
    const img = await pushImage(open, 'acme/private');
    const run = await runAction({
      inputs: { images: `${open.host}/acme/private@${img.digest}` },
      env: runnerEnvFor(sandbox),
      event: { repository: { visibility: 'private', private: true, full_name: 'acme/private' } },
    });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('allow-public-log');
  });

  it('refuses a private repository named only by the token (an event without visibility) before asking Fulcio', async () => {
    const img = await pushImage(open, 'acme/private-token');
    const run = await runAction({
      inputs: { images: `${open.host}/acme/private-token@${img.digest}` },
      env: runnerEnvFor(sandbox, { repository_visibility: 'internal' }),
      event: { schedule: '0 0 * * *' },
    });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/this repository is internal.*allow-public-log: true/);
    expect(run.stdout).not.toMatch(/fulcio\.sigstore\.dev/);
  });

  it('fails for a digest that is not in the registry, before logging anything', async () => {
    const size = await rekorTreeSize();
    const missing = `sha256:${'0'.repeat(64)}`;
    const run = await sign({ images: `${open.host}/acme/app@${missing}` });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/not found/);
    expect(run.stdout).toContain(missing);
    // The job summary leads with the cause and the fix.
    expect(run.summary.split('\n')[0]).toBe('## ❌ Signing failed');
    const [cause, fix] = run.summary.split('\n').filter((l) => l.trim()).slice(1, 3);
    expect(cause).toMatch(new RegExp(`^- .*${missing}.*not found`));
    expect(fix).toMatch(/^ {2}\*\*Fix:\*\* push the image first/);
    expect(await rekorTreeSize()).toBe(size);
  });

  it('fails when the registry refuses the push, naming the credential source and not the password, before logging', async () => {
    const img = await pushImage(token, 'acme/denied');
    const size = await rekorTreeSize();
    const run = await sign({ images: `${token.host}/acme/denied@${img.digest}`, 'registry-username': token.username!, 'registry-password': 'wrong-password-123' });
    expect(run.code).not.toBe(0);
    expect(everythingPrinted(run)).not.toContain('wrong-password-123');
    expect(run.stdout).toMatch(/registry-username\/registry-password/);
    expect(await rekorTreeSize()).toBe(size);
  });
});
