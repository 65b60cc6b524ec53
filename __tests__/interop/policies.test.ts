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
import { describeWithTools, describeRun, runTool, type Tool, type ToolRun, INTEROP_TIMEOUT } from '../helpers/verifiers.js';

type Format = 'legacy' | 'bundle';
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

const podYaml = (image: string): string =>
  [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: { name: app, namespace: default }',
    'spec:',
    '  containers:',
    '    - name: app',
    `      image: ${image}`,
  ].join('\n');

describe('cluster policies judged by the real engines', () => {
  let sandbox: Sandbox;
  let reg: RegistryAccess & { host: string };
  const signed = {} as Record<Format, Signed>;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['open'] });
    reg = sandbox.registries.open!;
    dir = mkdtempSync(join(tmpdir(), 'policies-'));
    for (const format of ['legacy', 'bundle'] as const) {
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
  }, 180_000);
  afterAll(() => sandbox?.stop());

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const expectVerdict = (run: ToolRun, admitted: boolean, what: string): void => {
    const ok = admitted ? run.code === 0 : run.code !== 0 && run.code !== null && !/killed after/.test(run.stderr);
    if (!ok) throw new Error(`${what}: expected ${admitted ? 'admitted' : 'refused'}\n${describeRun(run)}`);
  };

  describeWithTools('policy-controller policy-tester with the ClusterImagePolicy and its TrustRoot', ['policy-tester'], (tools) => {
    const tester = (): Tool => tools['policy-tester'];
    it.each(['legacy', 'bundle'] as const)('%s: admits the signed image, refuses an unsigned one and another identity', async (format) => {
      const docs = documents(signed[format].run, 'enforce');
      expect(docs.has('ClusterImagePolicy')).toBe(true);
      expect(docs.has('TrustRoot')).toBe(true);
      const policy = file(`cip-${format}.yaml`, docs.get('ClusterImagePolicy')!);
      const trustRoot = file(`trustroot-${format}.yaml`, docs.get('TrustRoot')!);
      const judge = (image: string) => runTool(tester().path, ['--policy', policy, '--trustroot', trustRoot, '--image', image], { env: toolEnv(), timeoutMs: 120_000 });
      const { signedRef, unsignedRef, strangerRef } = signed[format];
      expectVerdict(await judge(signedRef), true, `${format}: the signed image`);
      expectVerdict(await judge(unsignedRef), false, `${format}: an unsigned image`);
      expectVerdict(await judge(strangerRef), false, `${format}: another identity's image`);
    }, INTEROP_TIMEOUT);
  });

  describeWithTools('Kyverno CLI with the ClusterPolicy and the ImageValidatingPolicy', ['kyverno'], (tools) => {
    const kyverno = (): Tool => tools.kyverno;
    /** `kyverno apply` of one policy to one Pod; it exits non-zero when an enforce rule fails. */
    async function apply(policyYaml: string, image: string, name: string): Promise<ToolRun> {
      const policy = file(`${name}-policy.yaml`, policyYaml);
      const pod = file(`${name}-pod.yaml`, podYaml(image));
      return runTool(kyverno().path, ['apply', policy, '--resource', pod, '--registry', '--detailed-results'], { env: toolEnv(), timeoutMs: 180_000 });
    }
    const cases = [
      ['ClusterPolicy', 'legacy'],
      ['ClusterPolicy', 'bundle'],
      ['ImageValidatingPolicy', 'legacy'],
      ['ImageValidatingPolicy', 'bundle'],
    ] as const;
    it.each(cases)('%s on %s signatures: admits the signed image, refuses an unsigned one and another identity', async (kind, format) => {
      const docs = documents(signed[format].run, 'enforce');
      const policy = docs.get(kind)!;
      expect(policy).toBeDefined();
      const { signedRef, unsignedRef, strangerRef } = signed[format];
      const good = await apply(policy, signedRef, `${kind}-${format}-good`);
      expectVerdict(good, true, `${kind} ${format}: the signed image`);
      expect(good.stdout).toMatch(/pass: [1-9]/);
      expectVerdict(await apply(policy, unsignedRef, `${kind}-${format}-unsigned`), false, `${kind} ${format}: an unsigned image`);
      expectVerdict(await apply(policy, strangerRef, `${kind}-${format}-stranger`), false, `${kind} ${format}: another identity's image`);
    }, INTEROP_TIMEOUT);
  });
});
