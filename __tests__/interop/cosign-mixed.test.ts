/**
 * Mixed writers and real cosign output: real cosign signs keylessly on the sandbox and the
 * action signs the same digest (in both orders): both signatures survive, and each verifies
 * with cosign and with the action's verify mode. Then the action's verify mode judges
 * signatures made by cosign 2 and 3 alone, cosign 3's view included.
 */
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { getManifest, pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import type { GitHubClaims } from '../../sandbox/oidc.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cosignAttest, cosignSign, cosignVerify, toolEnv, verifiedCount } from '../helpers/cosign.js';
import { describeWithTools, describeRun, expectExit, type Tool, INTEROP_TIMEOUT } from '../helpers/verifiers.js';

const COSIGN_WRITER: Partial<GitHubClaims> = { repository: 'kupecloud/cosign-writer' };
const identityOf = (repository: string) => `https://github.com/${repository}/.github/workflows/release.yml@refs/heads/main`;

interface Verdict {
  verified: boolean;
  reason?: string;
  cosign3?: unknown;
  signatures: { format: string; identity?: string; reason?: string }[];
}

describeWithTools('real cosign and the action on the same digest', ['cosign-v2', 'cosign-v3'], (tools) => {
  let sandbox: Sandbox;
  let reg: RegistryAccess & { host: string };

  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['open'] });
    reg = sandbox.registries.open!;
  }, 60_000);
  afterAll(() => sandbox?.stop());

  const image = async (repo: string) => {
    const img = await pushImage(reg, repo);
    return { digest: img.digest, ref: `${reg.host}/${repo}@${img.digest}` };
  };
  async function actionSign(ref: string, format: 'legacy' | 'bundle'): Promise<RunResult> {
    const run = await runAction({ inputs: { ...sigstoreInputsFor(sandbox), images: ref, 'signature-format': format }, env: runnerEnvFor(sandbox) });
    if (run.code !== 0) throw new Error(`the action failed to sign ${ref}:\n${run.stdout.slice(-3000)}`);
    return run;
  }
  async function cosignSigns(cosign: Tool, ref: string, bundle: boolean): Promise<void> {
    const run = await cosignSign(cosign, sandbox, ref, { claims: COSIGN_WRITER, bundle });
    if (run.code !== 0) throw new Error(`cosign could not sign on the sandbox:\n${describeRun(run)}`);
  }
  async function verifyMode(ref: string, identity: string, extra: Record<string, string> = {}): Promise<{ run: RunResult; verdict: Verdict }> {
    const run = await runAction({ inputs: { ...sigstoreInputsFor(sandbox), mode: 'verify', images: ref, 'certificate-identity': identity, ...extra }, env: {} });
    const results = run.outputs['verify-results'];
    if (!results) throw new Error(`verify mode gave no verify-results:\n${run.stdout.slice(-3000)}`);
    return { run, verdict: (JSON.parse(results) as Verdict[])[0] };
  }
  const sigLayers = async (repo: string, digest: string): Promise<number> => {
    const m = await getManifest(reg, repo, `${digest.replace(':', '-')}.sig`);
    return ((m?.json.layers as unknown[]) ?? []).length;
  };

  it.each([
    ['cosign 2 first, then the action (legacy .sig)', 'cosign-v2', 'cosign-first'],
    ['the action first, then cosign 2 (legacy .sig)', 'cosign-v2', 'action-first'],
  ] as const)('%s: both layers survive and each verifies', async (_title, tool, order) => {
    const repo = `mixed/${order}`;
    const img = await image(repo);
    if (order === 'cosign-first') await cosignSigns(tools[tool], img.ref, false);
    const ours = await actionSign(img.ref, 'legacy');
    if (order === 'action-first') await cosignSigns(tools[tool], img.ref, false);
    expect(await sigLayers(repo, img.digest)).toBe(2);

    const identities = [ours.outputs['certificate-identity'], identityOf(COSIGN_WRITER.repository!)];
    for (const identity of identities) {
      for (const cosign of [tools['cosign-v2'], tools['cosign-v3']]) {
        const run = await cosignVerify(cosign, sandbox, img.ref, { identity });
        expectExit(run, 'pass');
        expect(verifiedCount(run)).toBe(1);
      }
      const { run, verdict } = await verifyMode(img.ref, identity);
      expect(run.code).toBe(0);
      expect(verdict.verified).toBe(true);
    }
  }, INTEROP_TIMEOUT);

  it.each([
    ['cosign 3 first, then the action (bundles)', 'cosign-first'],
    ['the action first, then cosign 3 (bundles)', 'action-first'],
  ] as const)('%s: both referrers survive and each verifies', async (_title, order) => {
    const img = await image(`mixed/bundle-${order}`);
    if (order === 'cosign-first') await cosignSigns(tools['cosign-v3'], img.ref, true);
    const ours = await actionSign(img.ref, 'bundle');
    if (order === 'action-first') await cosignSigns(tools['cosign-v3'], img.ref, true);

    for (const identity of [ours.outputs['certificate-identity'], identityOf(COSIGN_WRITER.repository!)]) {
      const run = await cosignVerify(tools['cosign-v3'], sandbox, img.ref, { identity });
      expectExit(run, 'pass');
      expect(verifiedCount(run)).toBe(1);
      const v2 = await cosignVerify(tools['cosign-v2'], sandbox, img.ref, { identity, newBundleFormat: true });
      expectExit(v2, 'pass');
      const { verdict } = await verifyMode(img.ref, identity);
      expect(verdict.verified).toBe(true);
    }
  }, INTEROP_TIMEOUT);

  describe('verify mode on signatures made by cosign alone', () => {
    const writer = identityOf(COSIGN_WRITER.repository!);

    it('cosign 2 legacy .sig: verified for its identity, "signed by another identity" for ours', async () => {
      const img = await image('cosign-only/v2-legacy');
      await cosignSigns(tools['cosign-v2'], img.ref, false);
      const good = await verifyMode(img.ref, writer);
      expect(good.verdict).toMatchObject({ verified: true });
      expect(good.verdict.signatures[0]).toMatchObject({ format: 'legacy', identity: writer });
      const bad = await verifyMode(img.ref, identityOf('kupecloud/demo-app'));
      expect(bad.run.code).not.toBe(0);
      expect(bad.verdict.verified).toBe(false);
      expect(bad.verdict.reason).toMatch(/another identity/);
      expect(bad.verdict.reason).toContain(writer);
    }, INTEROP_TIMEOUT);

    it('cosign 3 bundle: verified for its identity, failed for another', async () => {
      const img = await image('cosign-only/v3-bundle');
      await cosignSigns(tools['cosign-v3'], img.ref, true);
      const good = await verifyMode(img.ref, writer);
      expect(good.verdict).toMatchObject({ verified: true });
      expect(good.verdict.signatures.some((s) => s.format === 'bundle' && s.identity === writer)).toBe(true);
      const bad = await verifyMode(img.ref, identityOf('kupecloud/demo-app'));
      expect(bad.verdict.verified).toBe(false);
    }, INTEROP_TIMEOUT);

    it('cosign 3 writing legacy (--new-bundle-format=false): verified', async () => {
      const img = await image('cosign-only/v3-legacy');
      await cosignSigns(tools['cosign-v3'], img.ref, false);
      expect(await sigLayers('cosign-only/v3-legacy', img.digest)).toBe(1);
      const good = await verifyMode(img.ref, writer);
      expect(good.verdict).toMatchObject({ verified: true });
    }, INTEROP_TIMEOUT);

    it('a .sig by us beside a cosign 3 bundle by someone else: passes here, with the warning that cosign 3 would reject it', async () => {
      const img = await image('cosign-only/hidden-sig');
      const ours = await actionSign(img.ref, 'legacy');
      await cosignSigns(tools['cosign-v3'], img.ref, true);
      const identity = ours.outputs['certificate-identity'];
      // The real cosign 3 stops at the bundle and does not find our identity there; so does
      // cosign 2 from 2.6.3 on, which detects bundles by itself.
      expectExit(await cosignVerify(tools['cosign-v3'], sandbox, img.ref, { identity }), 'fail');
      expectExit(await cosignVerify(tools['cosign-v2'], sandbox, img.ref, { identity }), 'fail');
      // cosign 3 told to read the .sig tag only accepts it; cosign 2.6.5 cannot be told so:
      // `--new-bundle-format=false` is its default, and it switches to bundles when it finds one.
      expectExit(await cosignVerify(tools['cosign-v3'], sandbox, img.ref, { identity, newBundleFormat: false }), 'pass');
      expectExit(await cosignVerify(tools['cosign-v2'], sandbox, img.ref, { identity, newBundleFormat: false }), 'fail');
      const { run, verdict } = await verifyMode(img.ref, identity);
      expect(verdict.verified).toBe(true);
      expect(run.stdout).toMatch(/cosign 3/);
      expect(JSON.stringify(verdict.cosign3)).toMatch(/false|reject/i);
    }, INTEROP_TIMEOUT);
    it('a cosign 3 attestation and no signature: real cosign 3 accepts it as a signature; verify mode fails it and says cosign 3 would accept', async () => {
      const img = await image('cosign-only/v3-attest');
      const predicate = join(toolEnv().HOME, 'provenance.json');
      writeFileSync(predicate, JSON.stringify({ buildDefinition: { buildType: 'https://example.com/build' }, runDetails: { builder: { id: 'https://example.com' } } }));
      const attest = await cosignAttest(tools['cosign-v3'], sandbox, img.ref, { predicatePath: predicate, type: 'slsaprovenance1', claims: COSIGN_WRITER, bundle: true });
      if (attest.code !== 0) throw new Error(`cosign attest failed:\n${describeRun(attest)}`);
      // cosign 3 counts any verified DSSE bundle by the identity as a signature.
      expectExit(await cosignVerify(tools['cosign-v3'], sandbox, img.ref, { identity: writer }), 'pass');
      const { run, verdict } = await verifyMode(img.ref, writer);
      expect(run.code).not.toBe(0);
      expect(verdict.verified).toBe(false);
      expect(JSON.stringify(verdict.cosign3)).toMatch(/cosign 3 would accept/);
    }, INTEROP_TIMEOUT);

    it('a cosign 2 .att attestation and no signature: cosign 2 verify and verify mode both find no signature', async () => {
      const img = await image('cosign-only/v2-attest');
      const predicate = join(toolEnv().HOME, 'provenance.json');
      writeFileSync(predicate, JSON.stringify({ buildDefinition: { buildType: 'https://example.com/build' }, runDetails: { builder: { id: 'https://example.com' } } }));
      const attest = await cosignAttest(tools['cosign-v2'], sandbox, img.ref, { predicatePath: predicate, type: 'slsaprovenance1', claims: COSIGN_WRITER, bundle: false });
      if (attest.code !== 0) throw new Error(`cosign attest failed:\n${describeRun(attest)}`);
      expectExit(await cosignVerify(tools['cosign-v2'], sandbox, img.ref, { identity: writer }), 'fail');
      const { verdict } = await verifyMode(img.ref, writer);
      expect(verdict.verified).toBe(false);
      expect(verdict.reason).toMatch(/no signatures found/);
    }, INTEROP_TIMEOUT);
  });
});
