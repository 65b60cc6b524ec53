/**
 * `gh attestation verify oci://… --bundle-from-oci` on the bundle signatures the action
 * writes: GitHub's CLI finds the referrer, checks it against the sandbox's trusted root and
 * the repository (or owner) the certificate names, as a user would check a release.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor } from '../../sandbox/runner.js';
import { toolEnv } from '../helpers/cosign.js';
import { describeWithTools, expectExit, runTool, INTEROP_TIMEOUT } from '../helpers/verifiers.js';

const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

describeWithTools('gh attestation verify reads the bundle signatures', ['gh'], (tools) => {
  let sandbox: Sandbox;
  let reg: RegistryAccess & { host: string };
  let image: string;
  let summary: string;
  /** gh reads `--custom-trusted-root` as JSON Lines: one trusted root per line, not pretty-printed. */
  let rootJsonl: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['open'] });
    reg = sandbox.registries.open!;
    const img = await pushImage(reg, 'gh/app');
    image = `${reg.host}/gh/app@${img.digest}`;
    const run = await runAction({ inputs: { ...sigstoreInputsFor(sandbox), images: image, 'signature-format': 'bundle' }, env: runnerEnvFor(sandbox) });
    if (run.code !== 0) throw new Error(`signing failed:\n${run.stdout.slice(-3000)}`);
    summary = run.summary;
    rootJsonl = `${sandbox.sigstore!.trustedRootPath}l`;
    writeFileSync(rootJsonl, `${JSON.stringify(JSON.parse(readFileSync(sandbox.sigstore!.trustedRootPath, 'utf8')))}\n`);
  }, 120_000);
  afterAll(() => sandbox?.stop());

  const verify = (...scope: string[]) =>
    runTool(
      tools.gh.path,
      ['attestation', 'verify', `oci://${image}`, '--bundle-from-oci', '--custom-trusted-root', rootJsonl, '--predicate-type', SIGN_PREDICATE, ...scope],
      // gh asks for a login before any command; the token is never used offline.
      { env: { ...toolEnv(), GH_TOKEN: 'offline-not-used', GH_HOST: 'github.com' }, timeoutMs: 120_000 },
    );

  it('passes for the repository and the owner that signed', async () => {
    expectExit(await verify('--repo', 'kupecloud/demo-app'), 'pass');
    expectExit(await verify('--owner', 'kupecloud'), 'pass');
  }, INTEROP_TIMEOUT);

  it('fails for another repository, another owner, and another predicate type', async () => {
    // It got as far as checking the certificate (gh names the CA's issuer, not the reason).
    for (const scope of [['--repo', 'kupecloud/other-app'], ['--owner', 'someone-else']]) {
      const run = await verify(...scope);
      expectExit(run, 'fail');
      expect(run.stderr).toMatch(/verifying with issuer/);
    }
    const provenance = await runTool(
      tools.gh.path,
      ['attestation', 'verify', `oci://${image}`, '--bundle-from-oci', '--custom-trusted-root', rootJsonl, '--owner', 'kupecloud'],
      { env: { ...toolEnv(), GH_TOKEN: 'offline-not-used' }, timeoutMs: 120_000 },
    );
    // The default predicate type is SLSA provenance: a signature bundle is not one.
    expectExit(provenance, 'fail');
    expect(provenance.stderr).toMatch(/no attestations found with predicate type/);
  }, INTEROP_TIMEOUT);

  it('the gh command the job summary prints passes as printed (the trusted root given as JSON Lines, as its note says)', async () => {
    const lines = summary.split('\n').filter((l) => l.startsWith('gh attestation verify '));
    expect(lines).toHaveLength(1);
    expect(summary).toContain('jq -c . trusted_root.json');
    const line = lines[0].replace(sandbox.sigstore!.trustedRootPath, rootJsonl);
    const run = await runTool('/bin/sh', ['-c', `"$GH" ${line.slice('gh '.length)}`], { env: { ...toolEnv(), GH: tools.gh.path, GH_TOKEN: 'offline-not-used' }, timeoutMs: 120_000 });
    expectExit(run, 'pass');
  }, INTEROP_TIMEOUT);
});
