/**
 * The attestation requirements of the printed cluster policies, judged by the
 * real engines: verify mode with `predicate-type` prints policies that require
 * the signature and an SLSA v1 provenance attestation by the same identity.
 * The image is signed by the action (legacy `.sig`) and attested by real
 * cosign 2 (`.att`); policy-controller's policy-tester (the attestation
 * ClusterImagePolicy and its TrustRoot) and the Kyverno CLI (ClusterPolicy,
 * ImageValidatingPolicy) must admit it, and refuse the same signature without
 * the attestation, or with an attestation by another identity.
 *
 * The ImageValidatingPolicy needs Kyverno's TUF client pointed at the sandbox
 * (helpers/kyverno.ts); attest-action.test.ts judges it on the action's own
 * attestations.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { cosignAttest, toolEnv } from '../helpers/cosign.js';
import { describeRun, describeWithTools, INTEROP_TIMEOUT, runTool, expectVerdict, podYaml } from '../helpers/verifiers.js';

const IDENTITY = `https://github.com/${defaultClaims().job_workflow_ref}`;
const STRANGER = { repository: 'kupecloud/stranger' };

describeWithTools('attestation policies judged by the real engines', ['cosign-v2', 'policy-tester', 'kyverno'], (tools) => {
  let sandbox: Sandbox;
  let reg: RegistryAccess & { host: string };
  let dir: string;
  let policies: { kind: string; name: string; yaml: string }[];
  const refs = {} as Record<'attested' | 'signedOnly' | 'strangerAttested', string>;

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['open'] });
    reg = sandbox.registries.open!;
    dir = mkdtempSync(join(tmpdir(), 'attestation-policies-'));
    const predicatePath = file('predicate.json', JSON.stringify({ buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1' }, runDetails: { builder: { id: IDENTITY } } }));
    const repo = 'attpol/app';
    for (const key of ['attested', 'signedOnly', 'strangerAttested'] as const) {
      const img = await pushImage(reg, repo);
      refs[key] = `${reg.host}/${repo}@${img.digest}`;
      const signed = await runAction({ inputs: { ...sigstoreInputsFor(sandbox), images: refs[key] }, env: runnerEnvFor(sandbox) });
      if (signed.code !== 0) throw new Error(`signing failed:\n${signed.stdout.slice(-3000)}`);
      if (key === 'signedOnly') continue;
      const claims = key === 'strangerAttested' ? STRANGER : undefined;
      const attested = await cosignAttest(tools['cosign-v2'], sandbox, refs[key], { predicatePath, type: 'slsaprovenance1', claims });
      if (attested.code !== 0) throw new Error(`cosign 2 attest failed:\n${describeRun(attested)}`);
    }
    const run: RunResult = await runAction({
      inputs: { ...sigstoreInputsFor(sandbox), mode: 'verify', images: refs.attested, 'certificate-identity': IDENTITY, 'predicate-type': 'slsaprovenance1' },
    });
    if (run.code !== 0) throw new Error(`verify mode failed:\n${run.stdout.slice(-3000)}`);
    policies = parseAllDocuments(run.outputs['policies-enforce']).map((d) => {
      const js = d.toJS() as { kind: string; metadata: { name: string } };
      return { kind: js.kind, name: js.metadata.name, yaml: d.toString() };
    });
  }, INTEROP_TIMEOUT);
  afterAll(() => sandbox?.stop());
  const doc = (kind: string, nameEnd = ''): string => {
    const found = policies.find((p) => p.kind === kind && p.name.endsWith(nameEnd));
    if (!found) throw new Error(`no ${kind} *${nameEnd} among ${policies.map((p) => `${p.kind}/${p.name}`).join(', ')}`);
    return found.yaml;
  };

  it('policy-tester: the attestation ClusterImagePolicy admits the attested image only', async () => {
    const policy = file('cip-attested.yaml', doc('ClusterImagePolicy', '-attested'));
    const trustRoot = file('trustroot.yaml', doc('TrustRoot'));
    const judge = (image: string) => runTool(tools['policy-tester'].path, ['--policy', policy, '--trustroot', trustRoot, '--image', image], { env: toolEnv(), timeoutMs: 120_000 });
    expectVerdict(await judge(refs.attested), true, 'the attested image');
    expectVerdict(await judge(refs.signedOnly), false, 'a signed image without provenance');
    expectVerdict(await judge(refs.strangerAttested), false, "provenance by another identity");
  }, INTEROP_TIMEOUT);

  it('Kyverno CLI: the ClusterPolicy admits the signed and attested image only', async () => {
    const policy = file('ClusterPolicy.yaml', doc('ClusterPolicy'));
    const apply = (image: string, name: string) => {
      const pod = file(`pod-${name}.yaml`, podYaml(image));
      return runTool(tools.kyverno.path, ['apply', policy, '--resource', pod, '--registry', '--detailed-results'], { env: toolEnv(), timeoutMs: 180_000 });
    };
    const good = await apply(refs.attested, 'attested');
    expectVerdict(good, true, 'the attested image');
    expect(good.stdout).toMatch(/pass: [1-9]/);
    for (const [key, what] of [['signedOnly', 'a signed image without provenance'], ['strangerAttested', 'provenance by another identity']] as const) {
      const refused = await apply(refs[key], key);
      expectVerdict(refused, false, what);
      // Refused by the rule (the attestation), not by an error reading the image.
      expect(refused.stdout).toMatch(/fail: [1-9], warn: \d+, error: 0/);
    }
  }, INTEROP_TIMEOUT);
});
