/**
 * Attestations written by real cosign on the sandbox, verified by verify mode
 * (dist/index.js): cosign 2 `attest` writes the legacy `.att` tag, cosign 3
 * `attest` a bundle referrer (in the `sha256-<hex>` index: the sandbox
 * registry has no referrers API). Each passes for the identity and type it was
 * made with, and fails for another identity, another type, and when copied
 * onto another digest. The cosign binaries come from scripts/ensure-verifiers.sh;
 * without one its tests skip with a message, except on CI (CI=true), where a
 * missing binary fails.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { completeClaims, defaultClaims } from '../../sandbox/oidc.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { attTag, copyAtt, copyReferrers, listedReferrers } from '../helpers/attestation-copy.js';
import { useSandbox } from '../helpers/sandbox.js';
import { getManifest } from '../../sandbox/oci.js';

const TOOLS = path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'sign-action', 'tools');
const COSIGN = { 2: path.join(TOOLS, 'cosign-v2-v2.6.5', 'cosign'), 3: path.join(TOOLS, 'cosign-v3-v3.1.3', 'cosign') } as const;
const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = `https://github.com/${defaultClaims().job_workflow_ref}`;
const FORK_IDENTITY = `https://github.com/${completeClaims({ repository: 'evil/fork' }).job_workflow_ref}`;
const SLSA1 = 'https://slsa.dev/provenance/v1';
// A small SLSA v1 predicate, shaped like actions/attest-build-provenance's (cosign's slsaprovenance1 parser keeps known fields only).
const PREDICATE = {
  buildDefinition: {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: { workflow: { ref: 'refs/heads/main', repository: 'https://github.com/kupecloud/demo-app', path: '.github/workflows/release.yml' } },
    resolvedDependencies: [{ uri: 'git+https://github.com/kupecloud/demo-app@refs/heads/main', digest: { gitCommit: 'a'.repeat(40) } }],
  },
  runDetails: { builder: { id: IDENTITY }, metadata: { invocationId: 'https://github.com/kupecloud/demo-app/actions/runs/1/attempts/1' } },
};

const sandbox = useSandbox({ registries: ['open'] }, 90_000);
let open: RegistryAccess & { host: string };
let work: string;
beforeAll(() => {
  open = sandbox().registries.open!;
  work = mkdtempSync(path.join(tmpdir(), 'cosign-attest-'));
  writeFileSync(path.join(work, 'predicate.json'), JSON.stringify(PREDICATE));
});

/** A token of the sandbox's OIDC issuer, audience sigstore, as the runner hands it to a step. */
async function identityToken(): Promise<string> {
  const request = sandbox().oidc!.defaultRequest;
  const res = await fetch(`${request.requestUrl}&audience=sigstore`, { headers: { authorization: `bearer ${request.requestToken}` } });
  return ((await res.json()) as { value: string }).value;
}

/** `cosign attest` of `image` on the sandbox; rejects with cosign's own words when it fails. */
async function cosignAttest(major: 2 | 3, image: string): Promise<void> {
  const s = sandbox().sigstore!;
  const args = [
    'attest',
    '--predicate', path.join(work, 'predicate.json'),
    '--type', 'slsaprovenance1',
    '--fulcio-url', s.fulcioUrl,
    '--rekor-url', s.rekorUrl,
    '--trusted-root', s.trustedRootPath,
    '--identity-token', await identityToken(),
    '--allow-http-registry', '--allow-insecure-registry', '--yes',
    // cosign 3 takes its endpoints from the public signing config unless told not to; it then writes a bundle (its default).
    ...(major === 3 ? ['--use-signing-config=false'] : []),
    image,
  ];
  const home = mkdtempSync(path.join(work, 'home-'));
  await new Promise<void>((resolve, reject) => {
    execFile(COSIGN[major], args, { env: { PATH: process.env.PATH ?? '', HOME: home, TUF_ROOT: path.join(home, 'tuf') }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`cosign ${major} attest failed (exit ${err.code ?? err.signal}):\n${stderr}\n${stdout}`));
      else resolve();
    });
  });
}

const verify = (image: string, inputs: Record<string, string> = {}): Promise<RunResult> =>
  runAction({
    inputs: {
      ...sigstoreInputsFor(sandbox()),
      mode: 'verify',
      images: image,
      'certificate-identity': IDENTITY,
      'certificate-oidc-issuer': ISSUER,
      'predicate-type': 'slsaprovenance1',
      ...inputs,
    },
  });

interface Result {
  verified: boolean;
  reason: string;
  attestations: { format: string; predicateType: string | null; verified: boolean; failure?: string }[];
}
const resultOf = (r: RunResult): Result => (JSON.parse(r.outputs['verify-results']) as Result[])[0];

describe.each([
  [2, 'legacy'],
  [3, 'bundle'],
] as const)('an attestation by real cosign %i (%s)', (major, format) => {
  const present = existsSync(COSIGN[major]);
  if (!present && process.env.CI !== 'true') {
    console.warn(`skipping cosign ${major} attestation tests: ${COSIGN[major]} is absent (scripts/ensure-verifiers.sh builds it)`);
  }
  const test = present || process.env.CI === 'true' ? it : it.skip;
  const repo = `cosign${major}/attested`;
  let digest: string;
  let image: string;

  test('is where cosign writes it, and verifies for its identity and type', async () => {
    expect(existsSync(COSIGN[major])).toBe(true);
    const img = await pushImage(open, repo);
    const ref = `${open.host}/${repo}@${img.digest}`;
    await cosignAttest(major, ref);
    // Set only once cosign wrote it: the tests below need a real attestation.
    [digest, image] = [img.digest, ref];
    if (format === 'legacy') expect(await getManifest(open, repo, attTag(img.digest))).toBeDefined();
    else expect((await listedReferrers(open, repo, img.digest)).length).toBeGreaterThan(0);

    const r = await verify(image);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect({ code: r.code, result: resultOf(r) }).toMatchObject({ code: 0, result: { verified: true } });
    expect(resultOf(r).reason).toMatch(new RegExp(`^verified \\(${format}, log entry \\d+\\): ${SLSA1.replace(/[./]/g, '\\$&')} attestation by `));
    expect(resultOf(r).attestations).toEqual([expect.objectContaining({ format, predicateType: SLSA1, verified: true })]);
    expect(r.outputs['verify-commands-cosign3']).toMatch(new RegExp(`^cosign verify-attestation --type '${SLSA1.replace(/[./]/g, '\\$&')}' `));
    // gh reads only bundle referrers: its command is offered only where the attestation is one.
    const gh = `gh attestation verify oci://${image} --bundle-from-oci --predicate-type '${SLSA1}' --repo kupecloud/demo-app`;
    if (format === 'bundle') expect(r.summary).toContain(gh);
    else expect(r.summary).not.toContain('gh attestation verify oci://');
  }, 180_000);

  test('fails for another identity and another predicate type', async () => {
    expect(image).toBeDefined();
    const other = await verify(image, { 'certificate-identity': FORK_IDENTITY });
    expect(other.code).not.toBe(0);
    expect(resultOf(other).reason).toContain(`signed by another identity: ${IDENTITY}`);
    const otherType = await verify(image, { 'predicate-type': 'spdxjson' });
    expect(otherType.code).not.toBe(0);
    expect(resultOf(otherType).reason).toBe(`no attestation of type https://spdx.dev/Document found; 1 of other types: ${SLSA1}`);
  }, 120_000);

  test('fails when copied onto another digest', async () => {
    expect(image).toBeDefined();
    const target = await pushImage(open, repo);
    if (format === 'legacy') await copyAtt(open, repo, digest, target.digest);
    else expect(await copyReferrers(open, repo, digest, target)).toBeGreaterThan(0);
    const r = await verify(`${open.host}/${repo}@${target.digest}`);
    expect(r.code).not.toBe(0);
    expect(resultOf(r).attestations.map((a) => a.failure)).toContain('digest-claim');
    expect(resultOf(r).reason).toContain(`is about ${digest}, not ${target.digest}`);
  }, 120_000);
});
