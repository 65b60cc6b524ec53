/**
 * The cluster policies the action prints, judged by the real engines: policy-controller's
 * policy-tester with the ClusterImagePolicy (and the TrustRoot printed beside it), and the
 * Kyverno CLI applying the ClusterPolicy and the ImageValidatingPolicy to a Pod. Each must
 * admit an image signed by the run, and refuse an unsigned image and another identity's.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { toolEnv } from '../helpers/cosign.js';
import { kyvernoTuf, type KyvernoTuf } from '../helpers/kyverno.js';
import { describeWithTools, runTool, type Tool, type ToolRun, INTEROP_TIMEOUT, expectVerdict, podYaml } from '../helpers/verifiers.js';

type Format = 'legacy' | 'bundle' | 'both';
interface Signed {
  run: RunResult;
  signedRef: string;
  unsignedRef: string;
  strangerRef: string;
}

/** The documents of one stage's `policies-*` output, by kind. */
function documents(run: RunResult, stage: 'enforce' | 'audit'): Map<string, string> {
  const out = new Map<string, string>();
  for (const doc of parseAllDocuments(run.outputs[`policies-${stage}`])) {
    const kind = (doc.toJS() as { kind: string }).kind;
    out.set(kind, doc.toString());
  }
  return out;
}


describe('cluster policies judged by the real engines', () => {
  let sandbox: Sandbox;
  let reg: RegistryAccess & { host: string };
  const signed = {} as Record<Format, Signed>;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['open'] });
    reg = sandbox.registries.open!;
    dir = mkdtempSync(join(tmpdir(), 'policies-'));
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      const repo = `policies/${format}`;
      const [good, bare, other] = await Promise.all([pushImage(reg, repo), pushImage(reg, repo), pushImage(reg, repo)]);
      const ref = (d: string) => `${reg.host}/${repo}@${d}`;
      const sign = (image: string, claims?: Parameters<typeof runnerEnvFor>[1]) =>
        runAction({ inputs: { ...sigstoreInputsFor(sandbox), images: image, 'signature-format': format }, env: runnerEnvFor(sandbox, claims) });
      const run = await sign(ref(good.digest));
      if (run.code !== 0) throw new Error(`signing failed:\n${run.stdout.slice(-3000)}`);
      const strangerRun = await sign(ref(other.digest), { repository: 'kupecloud/stranger' });
      if (strangerRun.code !== 0) throw new Error(`signing as a stranger failed:\n${strangerRun.stdout.slice(-3000)}`);
      signed[format] = { run, signedRef: ref(good.digest), unsignedRef: ref(bare.digest), strangerRef: ref(other.digest) };
    }
  }, 240_000);
  afterAll(() => sandbox?.stop());

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  describeWithTools('policy-controller policy-tester with the ClusterImagePolicy and its TrustRoot', ['policy-tester'], (tools) => {
    const tester = (): Tool => tools['policy-tester'];
    const judgeWith = (format: Format) => {
      const docs = documents(signed[format].run, 'enforce');
      expect(docs.has('ClusterImagePolicy')).toBe(true);
      expect(docs.has('TrustRoot')).toBe(true);
      const policy = file(`cip-${format}.yaml`, docs.get('ClusterImagePolicy')!);
      const trustRoot = file(`trustroot-${format}.yaml`, docs.get('TrustRoot')!);
      return (image: string) => runTool(tester().path, ['--policy', policy, '--trustroot', trustRoot, '--image', image], { env: toolEnv(), timeoutMs: 120_000 });
    };

    // `both` is checked through its .sig signature (policy-controller's default format).
    it.each(['legacy', 'both'] as const)('%s: admits the signed image, refuses an unsigned one and another identity', async (format) => {
      const judge = judgeWith(format);
      const { signedRef, unsignedRef, strangerRef } = signed[format];
      expectVerdict(await judge(signedRef), true, `${format}: the signed image`);
      expectVerdict(await judge(unsignedRef), false, `${format}: an unsigned image`);
      expectVerdict(await judge(strangerRef), false, `${format}: another identity's image`);
    }, INTEROP_TIMEOUT);

    it('bundle on a custom instance: refused for the known upstream reason the README names (log ids from inline keys)', async () => {
      // policy-controller (0.14 to 0.15.1) derives a TrustRoot's log ids as the hex text of the key
      // hash, so sigstore-go finds no log for a bundle's entry. When a fixed release is pinned,
      // this test fails: then assert admission here and drop the README's caveat.
      const run = await judgeWith('bundle')(signed.bundle.signedRef);
      expectVerdict(run, false, 'bundle: the signed image (known upstream limitation)');
      expect(run.stdout).toMatch(/failed to verify log inclusion: not enough verified log entries/);
      expect(documents(signed.bundle.run, 'enforce').get('TrustRoot')).toMatch(/bundle signatures need a TrustRoot from this instance's TUF repository/);
    }, INTEROP_TIMEOUT);
  });

  describeWithTools('Kyverno CLI with the ClusterPolicy and the ImageValidatingPolicy', ['kyverno'], (tools) => {
    const kyverno = (): Tool => tools.kyverno;
    let tuf: KyvernoTuf;
    /** `kyverno apply` of one policy to one Pod; it exits non-zero when an enforce rule fails. */
    async function apply(policyYaml: string, image: string, name: string): Promise<ToolRun> {
      const policy = file(`${name}-policy.yaml`, policyYaml);
      const pod = file(`${name}-pod.yaml`, podYaml(image));
      return runTool(kyverno().path, ['apply', policy, '--resource', pod, '--registry', '--detailed-results'], { env: { ...toolEnv(), ...tuf.env }, timeoutMs: 180_000 });
    }
    beforeAll(async () => {
      // The controller's --tufMirror/--tufRoot, done the CLI's way: an ImageValidatingPolicy with
      // `cosign.tuf` initialises the process-wide TUF cache in $TUF_ROOT that ClusterPolicy reads.
      tuf = kyvernoTuf(sandbox);
      const ivp = tuf.withTuf(documents(signed.legacy.run, 'enforce').get('ImageValidatingPolicy')!);
      const init = await apply(ivp, signed.legacy.signedRef, 'tuf-init');
      expectVerdict(init, true, 'initialising the TUF cache');
    }, 180_000);

    it("verify mode given only the trusted root names the log that recorded the signatures: Kyverno admits with its ClusterPolicy", async () => {
      // The sandbox's trusted root lists a Rekor v1 and a Rekor v2 log, both valid now; the newest
      // (v2) never recorded a .sig signature, and a ClusterPolicy with its key refuses them all.
      const verify = await runAction({
        inputs: { mode: 'verify', images: signed.legacy.signedRef, sigstore: 'custom', 'trusted-root': sandbox.sigstore!.trustedRootPath, 'certificate-identity': signed.legacy.run.outputs['certificate-identity'] },
      });
      expect(verify.code).toBe(0);
      const policy = documents(verify, 'enforce').get('ClusterPolicy')!;
      expect(policy).toContain(`url: ${sandbox.sigstore!.rekorUrl}`);
      expectVerdict(await apply(policy, signed.legacy.signedRef, 'verify-mode-good'), true, 'verify mode ClusterPolicy: the signed image');
      expectVerdict(await apply(policy, signed.legacy.strangerRef, 'verify-mode-stranger'), false, "verify mode ClusterPolicy: another identity's image");
    }, INTEROP_TIMEOUT);

    const cases = [
      ['ClusterPolicy', 'legacy'],
      ['ClusterPolicy', 'bundle'],
      ['ClusterPolicy', 'both'],
      ['ImageValidatingPolicy', 'legacy'],
      ['ImageValidatingPolicy', 'bundle'],
    ] as const;
    it.each(cases)('%s on %s signatures: admits the signed image, refuses an unsigned one and another identity', async (kind, format) => {
      const docs = documents(signed[format].run, 'enforce');
      const printed = docs.get(kind);
      expect(printed).toBeDefined();
      const policy = kind === 'ImageValidatingPolicy' ? tuf.withTuf(printed!) : printed!;
      const { signedRef, unsignedRef, strangerRef } = signed[format];
      const good = await apply(policy, signedRef, `${kind}-${format}-good`);
      expectVerdict(good, true, `${kind} ${format}: the signed image`);
      expect(good.stdout).toMatch(/pass: [1-9]/);
      expectVerdict(await apply(policy, unsignedRef, `${kind}-${format}-unsigned`), false, `${kind} ${format}: an unsigned image`);
      expectVerdict(await apply(policy, strangerRef, `${kind}-${format}-stranger`), false, `${kind} ${format}: another identity's image`);
    }, INTEROP_TIMEOUT);
  });
});
