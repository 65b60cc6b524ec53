/**
 * Attestations the action writes (`attest: provenance` and an SPDX SBOM), judged by the real
 * tools: cosign 2 `verify-attestation` on the `.att` tag, cosign 3 on the bundle referrer,
 * `gh attestation verify` on the provenance, and the attestation policies the sign run prints
 * (policy-tester, the Kyverno CLI). Each passes for ours and fails for another identity or
 * another predicate type.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import type { GitHubClaims } from '../../sandbox/oidc.js';
import { runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { pemFromTrustedRoot } from '../../src/report/trusted-root-pem.js';
import { ISSUER, toolEnv } from '../helpers/cosign.js';
import { kyvernoTuf } from '../helpers/kyverno.js';
import { describeWithTools, expectExit, INTEROP_TIMEOUT, runTool, type ToolRun, expectVerdict, podYaml } from '../helpers/verifiers.js';

const SPDX = 'https://spdx.dev/Document';
const SBOM = { spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'app', packages: [{ name: 'busybox', SPDXID: 'SPDXRef-busybox', versionInfo: '1.36.1' }] };
type Layout = 'legacy' | 'bundle';

describeWithTools('attestations written by the action, judged by real tools', ['cosign-v2', 'cosign-v3', 'gh', 'policy-tester', 'kyverno'], (tools) => {
  let sandbox: Sandbox;
  let reg: RegistryAccess & { host: string };
  let dir: string;
  const attested = {} as Record<Layout, { ref: string; run: RunResult }>;
  const refs = {} as Record<'signedOnly' | 'stranger', string>;

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  async function sign(image: string, inputs: Record<string, string>, claims?: Partial<GitHubClaims>): Promise<RunResult> {
    const run = await runAction({ inputs: { ...sigstoreInputsFor(sandbox), images: image, ...inputs }, env: runnerEnvFor(sandbox, claims) });
    if (run.code !== 0) throw new Error(`the action failed on ${image}:\n${run.stdout.slice(-3000)}`);
    return run;
  }
  const attest = { attest: 'provenance', 'predicate-type': SPDX, predicate: JSON.stringify(SBOM) };

  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['open'] });
    reg = sandbox.registries.open!;
    dir = mkdtempSync(join(tmpdir(), 'attest-interop-'));
    const push = async (repo: string) => `${reg.host}/${repo}@${(await pushImage(reg, repo)).digest}`;
    for (const layout of ['legacy', 'bundle'] as const) {
      const ref = await push(`attest/${layout}`);
      attested[layout] = { ref, run: await sign(ref, { 'signature-format': layout, ...attest }) };
    }
    refs.signedOnly = await push('attest/legacy');
    await sign(refs.signedOnly, {});
    refs.stranger = await push('attest/legacy');
    await sign(refs.stranger, attest, { repository: 'kupecloud/stranger' });
  }, INTEROP_TIMEOUT);
  afterAll(() => sandbox?.stop());

  const identity = () => attested.legacy.run.outputs['certificate-identity'];

  it('reports every attestation written in the attestations output, with its predicate type', () => {
    for (const layout of ['legacy', 'bundle'] as const) {
      const records = JSON.parse(attested[layout].run.outputs.attestations) as { predicateType: string; format: string }[];
      expect(records.map((r) => [r.format, r.predicateType]).sort()).toEqual([
        [layout, 'https://slsa.dev/provenance/v1'],
        [layout, SPDX],
      ]);
    }
  });

  /**
   * cosign 2 reads `.att` with the keys given one by one (it refuses `--trusted-root` without
   * `--new-bundle-format`): the PEM files its environment variables name.
   */
  function cosign2KeyEnv(): Record<string, string> {
    const pem = pemFromTrustedRoot(readFileSync(sandbox.sigstore!.trustedRootPath, 'utf8'), sandbox.sigstore!.rekorUrl);
    return {
      SIGSTORE_ROOT_FILE: file('fulcio.pem', pem.fulcioCertificates!),
      SIGSTORE_REKOR_PUBLIC_KEY: file('rekor.pub', pem.rekorPublicKey!),
      SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: file('ctlog.pub', pem.ctlogPublicKey!),
    };
  }
  const verifyAttestation = (tool: 'cosign-v2' | 'cosign-v3', ref: string, type: string, who = identity()): Promise<ToolRun> => {
    const args = ['verify-attestation', '--type', type, '--certificate-identity', who, '--certificate-oidc-issuer', ISSUER, '--allow-http-registry'];
    const env = { ...toolEnv(), ...(tool === 'cosign-v2' ? cosign2KeyEnv() : {}) };
    if (tool === 'cosign-v3') args.push('--trusted-root', sandbox.sigstore!.trustedRootPath);
    return runTool(tools[tool].path, [...args, ref], { env, timeoutMs: 90_000 });
  };

  it('cosign 2 verify-attestation accepts the .att provenance and SBOM, and refuses another identity or type', async () => {
    const { ref } = attested.legacy;
    expectExit(await verifyAttestation('cosign-v2', ref, 'slsaprovenance1'), 'pass');
    expectExit(await verifyAttestation('cosign-v2', ref, SPDX), 'pass');
    expectExit(await verifyAttestation('cosign-v2', ref, 'slsaprovenance1', identity().replace('demo-app', 'other-app')), 'fail');
    expectExit(await verifyAttestation('cosign-v2', ref, 'cyclonedx'), 'fail');
    expectExit(await verifyAttestation('cosign-v2', refs.signedOnly, 'slsaprovenance1'), 'fail');
  }, INTEROP_TIMEOUT);

  it('cosign 3 verify-attestation accepts the bundle provenance and SBOM, and refuses another identity or type', async () => {
    const { ref } = attested.bundle;
    expectExit(await verifyAttestation('cosign-v3', ref, 'slsaprovenance1'), 'pass');
    expectExit(await verifyAttestation('cosign-v3', ref, SPDX), 'pass');
    expectExit(await verifyAttestation('cosign-v3', ref, 'slsaprovenance1', identity().replace('demo-app', 'other-app')), 'fail');
    expectExit(await verifyAttestation('cosign-v3', ref, 'cyclonedx'), 'fail');
  }, INTEROP_TIMEOUT);

  it('gh attestation verify accepts the provenance (its default type) for the repository, not for another owner', async () => {
    const jsonl = file('trusted_root.jsonl', `${JSON.stringify(JSON.parse(readFileSync(sandbox.sigstore!.trustedRootPath, 'utf8')))}\n`);
    const gh = (...scope: string[]) =>
      runTool(tools.gh.path, ['attestation', 'verify', `oci://${attested.bundle.ref}`, '--bundle-from-oci', '--custom-trusted-root', jsonl, ...scope], {
        env: { ...toolEnv(), GH_TOKEN: 'offline-not-used' },
        timeoutMs: 120_000,
      });
    expectExit(await gh('--repo', 'kupecloud/demo-app'), 'pass');
    expectExit(await gh('--owner', 'kupecloud', '--predicate-type', SPDX), 'pass');
    expectExit(await gh('--owner', 'someone-else'), 'fail');
    const otherType = await gh('--owner', 'kupecloud', '--predicate-type', 'https://cyclonedx.org/bom');
    expectExit(otherType, 'fail');
    expect(otherType.stderr).toMatch(/no attestations found with predicate type/);
  }, INTEROP_TIMEOUT);

  describe("the sign run's policies require the provenance it wrote", () => {
    const enforce = (): { kind: string; name: string; yaml: string }[] =>
      parseAllDocuments(attested.legacy.run.outputs['policies-enforce']).map((d) => {
        const js = d.toJS() as { kind: string; metadata: { name: string } };
        return { kind: js.kind, name: js.metadata.name, yaml: d.toString() };
      });

    it('policy-tester: the -attested ClusterImagePolicy admits the attested image only', async () => {
      const docs = enforce();
      const cip = docs.find((d) => d.kind === 'ClusterImagePolicy' && d.name.endsWith('-attested'));
      expect(cip).toBeDefined();
      const policy = file('cip-attested.yaml', cip!.yaml);
      const trustRoot = file('trustroot.yaml', docs.find((d) => d.kind === 'TrustRoot')!.yaml);
      const judge = (image: string) => runTool(tools['policy-tester'].path, ['--policy', policy, '--trustroot', trustRoot, '--image', image], { env: toolEnv(), timeoutMs: 120_000 });
      expectVerdict(await judge(attested.legacy.ref), true, 'the attested image');
      expectVerdict(await judge(refs.signedOnly), false, 'signed, without provenance');
      expectVerdict(await judge(refs.stranger), false, "another identity's signature and provenance");
    }, INTEROP_TIMEOUT);

    it.each(['ImageValidatingPolicy', 'ClusterPolicy'] as const)('Kyverno CLI: the %s admits the signed and attested image only', async (kind) => {
      const printed = enforce().find((d) => d.kind === kind)!.yaml;
      expect(printed).toContain('https://slsa.dev/provenance/v1');
      const tuf = kyvernoTuf(sandbox);
      // Both kinds in one TUF cache: the ImageValidatingPolicy's `cosign.tuf` initialises it.
      const ivp = file(`ivp-${kind}.yaml`, tuf.withTuf(enforce().find((d) => d.kind === 'ImageValidatingPolicy')!.yaml));
      const policy = kind === 'ClusterPolicy' ? file('cpol.yaml', printed) : ivp;
      const apply = (path: string, image: string, name: string) => {
        const pod = file(`pod-${kind}-${name}.yaml`, podYaml(image));
        return runTool(tools.kyverno.path, ['apply', path, '--resource', pod, '--registry', '--detailed-results'], { env: { ...toolEnv(), ...tuf.env }, timeoutMs: 180_000 });
      };
      if (kind === 'ClusterPolicy') expectVerdict(await apply(ivp, attested.legacy.ref, 'tuf-init'), true, 'initialising the TUF cache');
      expectVerdict(await apply(policy, attested.legacy.ref, 'attested'), true, 'the attested image');
      for (const [ref, what] of [[refs.signedOnly, 'signed, without provenance'], [refs.stranger, "another identity's"]] as const) {
        const refused = await apply(policy, ref, what.replace(/\W+/g, '-'));
        expectVerdict(refused, false, what);
        expect(refused.stdout).toMatch(/fail: [1-9], warn: \d+, error: 0/);
      }
    }, INTEROP_TIMEOUT);
  });
});
