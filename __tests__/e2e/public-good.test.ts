/**
 * End to end: `sigstore: public-good` takes its services from the signing config
 * of a TUF repository, here the sandbox's (served and signed as Sigstore's is,
 * reached through the SIGN_ACTION_TUF_MIRROR / SIGN_ACTION_TUF_ROOT testing hook).
 * The sandbox's services are on 127.0.0.1 and named only in that signing config,
 * so a run that signed with built-in public-good URLs could not succeed here.
 */
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, getManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, publicGoodFor, runAction, runnerEnvFor } from '../../sandbox/runner.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { startTufRepository, type SandboxTufRepository } from '../../sandbox/sigstore/tuf-repo.js';
import { checkBundleReferrers, fallbackIndex } from '../helpers/bundle-checks.js';
import { readAndCheckLegacy, type TrustedRootJson } from '../helpers/legacy-checks.js';

const IDENTITY = `https://github.com/${defaultClaims().job_workflow_ref}`;

let sandbox: Sandbox;
let open: RegistryAccess & { host: string };
let trustedRoot: TrustedRootJson;
let withoutV2: SandboxTufRepository;

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open'] });
  open = sandbox.registries.open!;
  trustedRoot = sandbox.sigstore!.trustedRoot as TrustedRootJson;
  // What Sigstore's repository looked like before May 2026: no Rekor v2 signing config.
  const { 'signing_config_rekor_v2.v0.2.json': _v2, ...rest } = sandbox.sigstore!.tufTargets;
  withoutV2 = await startTufRepository(rest);
}, 60_000);
afterAll(async () => {
  await withoutV2?.stop();
  cleanupRuns();
  await sandbox?.stop();
});

function sign(inputs: Record<string, string>, tuf?: SandboxTufRepository) {
  const pg = publicGoodFor(sandbox, tuf);
  return runAction({ inputs: { ...pg.inputs, ...inputs }, env: { ...runnerEnvFor(sandbox), ...pg.env } });
}

const rekorTreeSize = async (): Promise<number> =>
  ((await (await fetch(`${sandbox.sigstore!.rekorUrl}/api/v1/log`)).json()) as { treeSize: number }).treeSize;
const subjectOf = (img: { digest: string; mediaType: string; size: number }) => ({ digest: img.digest, mediaType: img.mediaType, size: img.size });
const targetFetches = (tuf: SandboxTufRepository, name: string): number =>
  Object.entries(tuf.requests()).filter(([p]) => p.endsWith(`.${name}`)).reduce((n, [, c]) => n + c, 0);

describe('public-good from the signing config of the TUF repository', () => {
  it('signs a legacy .sig with the Fulcio and Rekor v1 the signing config lists, and verifies it with the trusted root of the same repository', async () => {
    const img = await pushImage(open, 'acme/pg-legacy');
    const tuf = sandbox.sigstore!.tuf;
    const before = { config: targetFetches(tuf, 'signing_config.v0.2.json'), root: targetFetches(tuf, 'trusted_root.json'), log: await rekorTreeSize() };
    const run = await sign({ images: `${open.host}/acme/pg-legacy@${img.digest}` });
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Sigstore public-good services: Fulcio ${sandbox.sigstore!.fulcioUrl}, Rekor v1 ${sandbox.sigstore!.rekorUrl}`);
    expect(run.stdout).toMatch(/SIGN_ACTION_TUF_MIRROR/); // the testing hook never goes unnoticed
    expect(run.outputs.verified).toBe('true');
    expect(targetFetches(tuf, 'signing_config.v0.2.json')).toBe(before.config + 1);
    expect(targetFetches(tuf, 'trusted_root.json')).toBe(before.root + 1);
    expect(targetFetches(tuf, 'signing_config_rekor_v2.v0.2.json')).toBe(0);

    const { signatures } = await readAndCheckLegacy(open, 'acme/pg-legacy', img.digest, `${open.host}/acme/pg-legacy`, trustedRoot);
    expect(signatures).toHaveLength(1);
    expect(signatures[0].identity).toBe(IDENTITY);
    expect(await rekorTreeSize()).toBe(before.log + 1);
    expect(signatures[0].logIndex).toBe(Number(run.outputs['rekor-log-index']));
    // Legacy signatures stay as cosign 2 writes them: the listed TSA is for bundles.
    expect(signatures[0].annotations).not.toHaveProperty('dev.sigstore.cosign/rfc3161timestamp');
  });

  it('dates bundles with the timestamp authority the signing config lists (as cosign 3 does)', async () => {
    const img = await pushImage(open, 'acme/pg-bundle');
    const run = await sign({ images: `${open.host}/acme/pg-bundle@${img.digest}`, 'signature-format': 'bundle' });
    expect(run.code).toBe(0);
    expect(run.outputs.verified).toBe('true');
    const [checked] = await checkBundleReferrers(open, 'acme/pg-bundle', subjectOf(img), (await fallbackIndex(open, 'acme/pg-bundle', img.digest))!, trustedRoot);
    expect(checked.bundle.verificationMaterial.tlogEntries[0].kindVersion).toEqual({ kind: 'dsse', version: '0.0.1' });
    expect(checked.timestamped).toBe(true);
  });

  it('`rekor-v2: true` logs bundles in the Rekor v2 log of signing_config_rekor_v2.v0.2.json, timestamped by its TSA', async () => {
    const img = await pushImage(open, 'acme/pg-v2');
    const v1Before = await rekorTreeSize();
    const run = await sign({ images: `${open.host}/acme/pg-v2@${img.digest}`, 'signature-format': 'bundle', 'rekor-v2': 'true' });
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Rekor v2 ${sandbox.sigstore!.rekorV2Url}`);
    expect(run.outputs.verified).toBe('true');
    expect(targetFetches(sandbox.sigstore!.tuf, 'signing_config_rekor_v2.v0.2.json')).toBeGreaterThan(0);
    const [checked, ...more] = await checkBundleReferrers(open, 'acme/pg-v2', subjectOf(img), (await fallbackIndex(open, 'acme/pg-v2', img.digest))!, trustedRoot);
    expect(more).toEqual([]);
    expect(checked.identity).toBe(IDENTITY);
    // As cosign 3.1 logs a DSSE envelope on Rekor v2: the public log runs rekor-tiles ≥ 2.3, which takes no DSSE entries.
    expect(checked.bundle.verificationMaterial.tlogEntries[0].kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
    expect(checked.timestamped).toBe(true);
    expect(await rekorTreeSize()).toBe(v1Before); // nothing went to the v1 log
  });

  it('`rekor-v2: true` fails before anything is written when the TUF repository has no Rekor v2 signing config, and says what to do', async () => {
    const img = await pushImage(open, 'acme/pg-no-v2');
    const v1Before = await rekorTreeSize();
    const run = await sign({ images: `${open.host}/acme/pg-no-v2@${img.digest}`, 'signature-format': 'bundle', 'rekor-v2': 'true' }, withoutV2);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('::error::');
    expect(run.stdout).toContain('signing_config_rekor_v2.v0.2.json');
    expect(run.stdout).toContain('has no signing_config_rekor_v2.v0.2.json target');
    expect(run.stdout).toContain('remove `rekor-v2` to sign with Rekor v1');
    expect(await rekorTreeSize()).toBe(v1Before);
    expect(await fallbackIndex(open, 'acme/pg-no-v2', img.digest)).toBeUndefined();
    expect(await getManifest(open, 'acme/pg-no-v2', `${img.digest.replace(':', '-')}.sig`)).toBeUndefined();
  });

  it('a private repository named only by the token is refused before the TUF repository is asked anything', async () => {
    const img = await pushImage(open, 'acme/pg-private');
    const tuf = sandbox.sigstore!.tuf;
    const total = () => Object.values(tuf.requests()).reduce((a, b) => a + b, 0);
    const before = total();
    const pg = publicGoodFor(sandbox);
    const run = await runAction({
      inputs: { ...pg.inputs, images: `${open.host}/acme/pg-private@${img.digest}` },
      env: { ...runnerEnvFor(sandbox, { repository_visibility: 'internal' }), ...pg.env },
      event: { schedule: '0 0 * * *' },
    });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/this repository is internal.*allow-public-log: true/);
    expect(total()).toBe(before);
  });

  it('`rekor-v2: true` fails clearly when the TUF repository cannot be reached', async () => {
    const img = await pushImage(open, 'acme/pg-down');
    const down = { url: 'http://127.0.0.1:9', rootPath: sandbox.sigstore!.tuf.rootPath };
    const pg = publicGoodFor(sandbox, down);
    const run = await runAction({
      inputs: { ...pg.inputs, images: `${open.host}/acme/pg-down@${img.digest}`, 'signature-format': 'bundle', 'rekor-v2': 'true' },
      env: { ...runnerEnvFor(sandbox), ...pg.env },
    });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/could not get Sigstore's Rekor v2 signing config \(signing_config_rekor_v2\.v0\.2\.json\) from the TUF repository at http:\/\/127\.0\.0\.1:9/);
    expect(run.stdout).toContain('check SIGN_ACTION_TUF_MIRROR and SIGN_ACTION_TUF_ROOT, or remove `rekor-v2`');
  });
});
