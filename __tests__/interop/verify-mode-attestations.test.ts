/**
 * Attestations written by real cosign on the sandbox, verified by the action's
 * verify mode (dist/index.js) with `predicate-type`: cosign 2 `attest` writes
 * the legacy `.att` tag, cosign 3 `attest` a bundle referrer (listed in the
 * `sha256-<hex>` index: the sandbox registry has no referrers API). Each passes
 * for the identity and type it was made with, and fails for another identity,
 * another type, and when copied onto another digest. Without a cosign binary
 * its suite skips with the reason, except on CI (../helpers/verifiers.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { completeClaims, defaultClaims } from '../../sandbox/oidc.js';
import { getManifest, pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { attTag, copyAtt, copyReferrers, listedReferrers } from '../helpers/attestation-copy.js';
import { cosignAttest } from '../helpers/cosign.js';
import { describeRun, describeWithTools, INTEROP_TIMEOUT, type ToolName } from '../helpers/verifiers.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = `https://github.com/${defaultClaims().job_workflow_ref}`;
const FORK_IDENTITY = `https://github.com/${completeClaims({ repository: 'evil/fork' }).job_workflow_ref}`;
const SLSA1 = 'https://slsa.dev/provenance/v1';
// A small SLSA v1 predicate shaped like actions/attest-build-provenance's (cosign's slsaprovenance1 parser keeps known fields only).
const PREDICATE = {
  buildDefinition: {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: { workflow: { ref: 'refs/heads/main', repository: 'https://github.com/kupecloud/demo-app', path: '.github/workflows/release.yml' } },
    resolvedDependencies: [{ uri: 'git+https://github.com/kupecloud/demo-app@refs/heads/main', digest: { gitCommit: 'a'.repeat(40) } }],
  },
  runDetails: { builder: { id: IDENTITY }, metadata: { invocationId: 'https://github.com/kupecloud/demo-app/actions/runs/1/attempts/1' } },
};

interface Result {
  verified: boolean;
  reason: string;
  attestations: { format: string; predicateType: string | null; verified: boolean; failure?: string }[];
}
const resultOf = (r: RunResult): Result => (JSON.parse(r.outputs['verify-results']) as Result[])[0];

const cases: [ToolName, 'legacy' | 'bundle'][] = [
  ['cosign-v2', 'legacy'],
  ['cosign-v3', 'bundle'],
];

for (const [name, format] of cases) {
  describeWithTools(`verify mode on an attestation by real ${name} (${format})`, [name], (tools) => {
    let sandbox: Sandbox;
    let open: RegistryAccess & { host: string };
    let digest: string | undefined;
    const repo = `${name}/attested`;
    const image = () => `${open.host}/${repo}@${digest}`;

    beforeAll(async () => {
      sandbox = await startSandbox({ registries: ['open'] });
      open = sandbox.registries.open!;
      const img = await pushImage(open, repo);
      const predicatePath = path.join(mkdtempSync(path.join(tmpdir(), 'attest-predicate-')), 'predicate.json');
      writeFileSync(predicatePath, JSON.stringify(PREDICATE));
      const run = await cosignAttest(tools[name], sandbox, `${open.host}/${repo}@${img.digest}`, { predicatePath, type: 'slsaprovenance1' });
      // What cosign said is the finding when the sandbox refuses it: every test below shows it.
      if (run.code !== 0) throw new Error(`${name} attest failed:\n${describeRun(run)}`);
      digest = img.digest;
    }, INTEROP_TIMEOUT);
    afterAll(async () => {
      cleanupRuns();
      await sandbox?.stop();
    });

    const verify = (ref: string, inputs: Record<string, string> = {}): Promise<RunResult> =>
      runAction({
        inputs: { ...sigstoreInputsFor(sandbox), mode: 'verify', images: ref, 'certificate-identity': IDENTITY, 'certificate-oidc-issuer': ISSUER, 'predicate-type': 'slsaprovenance1', ...inputs },
      });

    it('is stored where cosign writes it, and verifies for its identity and type', async () => {
      if (format === 'legacy') expect(await getManifest(open, repo, attTag(digest!))).toBeDefined();
      else expect((await listedReferrers(open, repo, digest!)).length).toBeGreaterThan(0);
      const r = await verify(image());
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect({ code: r.code, result: resultOf(r) }).toMatchObject({ code: 0, result: { verified: true } });
      expect(resultOf(r).reason).toMatch(new RegExp(`^verified \\(${format}, log entry \\d+\\): ${SLSA1.replace(/[./]/g, '\\$&')} attestation by `));
      expect(resultOf(r).attestations).toEqual([expect.objectContaining({ format, predicateType: SLSA1, verified: true })]);
      expect(r.outputs['verify-commands-cosign3']).toMatch(new RegExp(`^cosign verify-attestation --type '${SLSA1.replace(/[./]/g, '\\$&')}' `));
      // gh reads only bundle referrers: its command is offered only where the attestation is one.
      const gh = `gh attestation verify oci://${image()} --bundle-from-oci --predicate-type '${SLSA1}' --repo kupecloud/demo-app`;
      if (format === 'bundle') expect(r.summary).toContain(gh);
      else expect(r.summary).not.toContain('gh attestation verify oci://');
    }, INTEROP_TIMEOUT);

    it('fails for another identity and another predicate type', async () => {
      const other = await verify(image(), { 'certificate-identity': FORK_IDENTITY });
      expect(other.code).not.toBe(0);
      expect(resultOf(other).reason).toContain(`signed by another identity: ${IDENTITY}`);
      const otherType = await verify(image(), { 'predicate-type': 'spdxjson' });
      expect(otherType.code).not.toBe(0);
      expect(resultOf(otherType).reason).toBe(`no attestation of type https://spdx.dev/Document found; 1 of other types: ${SLSA1}`);
    }, INTEROP_TIMEOUT);

    it('fails when copied onto another digest', async () => {
      const target = await pushImage(open, repo);
      if (format === 'legacy') await copyAtt(open, repo, digest!, target.digest);
      else expect(await copyReferrers(open, repo, digest!, target)).toBeGreaterThan(0);
      const r = await verify(`${open.host}/${repo}@${target.digest}`);
      expect(r.code).not.toBe(0);
      expect(resultOf(r).attestations.map((a) => a.failure)).toContain('digest-claim');
      expect(resultOf(r).reason).toContain(`is about ${digest}, not ${target.digest}`);
    }, INTEROP_TIMEOUT);
  });
}
