/**
 * End to end: dist/index.js attests build provenance and an SBOM beside the
 * signatures, on the sandbox's registry and Sigstore, in each layout; what
 * landed is checked byte-level by __tests__/helpers/attest-checks.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFaultProxy } from '../../sandbox/fault-proxy.js';
import { getManifest, pushImage, pushIndex } from '../../sandbox/oci.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { runAction, runnerEnvFor, sigstoreInputsFor } from '../../sandbox/runner.js';
import { checkAttestationReferrers, readAndCheckAtt } from '../helpers/attest-checks.js';
import { fallbackIndex } from '../helpers/bundle-checks.js';
import { readAndCheckLegacy, type TrustedRootJson } from '../helpers/legacy-checks.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox({ registries: ['open'] });
const claims = defaultClaims();
const IDENTITY = `https://github.com/${claims.job_workflow_ref}`;
const SPDX = 'https://spdx.dev/Document';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-e2e-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The provenance actions/attest-build-provenance would write for the sandbox's default claims (attestations.md §3). */
const PROVENANCE = {
  buildDefinition: {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: { workflow: { ref: claims.ref, repository: `https://github.com/${claims.repository}`, path: '.github/workflows/release.yml' } },
    internalParameters: {
      github: { event_name: claims.event_name, repository_id: claims.repository_id, repository_owner_id: claims.repository_owner_id, runner_environment: claims.runner_environment },
    },
    resolvedDependencies: [{ uri: `git+https://github.com/${claims.repository}@${claims.ref}`, digest: { gitCommit: claims.sha } }],
  },
  runDetails: { builder: { id: IDENTITY }, metadata: { invocationId: `https://github.com/${claims.repository}/actions/runs/${claims.run_id}/attempts/${claims.run_attempt}` } },
};

function sbomFile(name: string, bytes: number): { file: string; json: unknown } {
  const pkg = (i: number) => ({ SPDXID: `SPDXRef-Package-${i}`, name: `pkg-${i}`, versionInfo: '1.0.0', downloadLocation: 'NOASSERTION', licenseConcluded: 'NOASSERTION' });
  const packages = [];
  for (let i = 0, size = 0; size < bytes; i++) {
    packages.push(pkg(i));
    size += JSON.stringify(pkg(i)).length + 1;
  }
  const json = { spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'app', packages };
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(json));
  return { file, json };
}

const attest = (inputs: Record<string, string>) =>
  runAction({ inputs: { ...sigstoreInputsFor(sandbox()), attest: 'provenance', ...inputs }, env: runnerEnvFor(sandbox()), timeoutMs: 180_000 });

const root = (): TrustedRootJson => sandbox().sigstore!.trustedRoot as TrustedRootJson;

async function rekorTreeSize(): Promise<number> {
  return ((await (await fetch(`${sandbox().sigstore!.rekorUrl}/api/v1/log`)).json()) as { treeSize: number }).treeSize;
}

describe('attestations, end to end', () => {
  it('legacy: provenance and an SBOM as .att layers beside the .sig, read by cosign 2', async () => {
    const open = sandbox().registries.open!;
    const img = await pushImage(open, 'att/legacy', { tag: 'v1' });
    const sbom = sbomFile('small.spdx.json', 2000);
    const run = await attest({ images: `${open.host}/att/legacy@${img.digest}`, 'predicate-type': SPDX, 'predicate-path': sbom.file });
    expect(run.stdout).not.toMatch(/::error/);
    expect(run.code).toBe(0);

    const name = `${open.host}/att/legacy`;
    expect((await readAndCheckLegacy(open, 'att/legacy', img.digest, name, root())).signatures).toHaveLength(1);
    const att = await readAndCheckAtt(open, 'att/legacy', img.digest, name, root());
    expect(att.map((a) => a.statement.predicateType).sort()).toEqual(['https://slsa.dev/provenance/v1', SPDX]);
    expect(att.every((a) => a.identity === IDENTITY)).toBe(true);
    expect(att.find((a) => a.statement.predicateType === SPDX)!.statement.predicate).toEqual(sbom.json);
    // Field for field what actions/attest-build-provenance writes, in its key order.
    expect(JSON.stringify(att.find((a) => a.statement.predicateType !== SPDX)!.statement.predicate)).toBe(JSON.stringify(PROVENANCE));
    expect(await fallbackIndex(open, 'att/legacy', img.digest)).toBeUndefined();

    const out = JSON.parse(run.outputs.attestations) as { format: string; predicateType: string; reference: string; rekor: { logIndex: number } }[];
    expect(out).toHaveLength(2);
    expect(out.every((o) => o.format === 'legacy' && o.reference === `${name}:${img.digest.replace(':', '-')}.att`)).toBe(true);
    expect(out.map((o) => o.rekor.logIndex).sort()).toEqual(att.map((a) => a.logIndex).sort());
    expect(JSON.parse(run.outputs.signatures)).toHaveLength(1);
    expect(run.outputs.verified).toBe('true');
    expect(run.summary).toContain('## Attested 2 attestations');
    expect(run.summary).toContain('| `https://slsa.dev/provenance/v1` | legacy |');
    expect(run.summary).toContain(`cosign verify-attestation --type https://slsa.dev/provenance/v1 --certificate-identity '${IDENTITY}'`);
  });

  it('bundle: referrers with the predicate annotations, as gh and cosign 3 find them', async () => {
    const open = sandbox().registries.open!;
    const img = await pushImage(open, 'att/bundle', { tag: 'v1' });
    const run = await attest({ images: `${open.host}/att/bundle@${img.digest}`, 'signature-format': 'bundle', 'predicate-type': 'https://cyclonedx.org/bom', predicate: '{"bomFormat":"CycloneDX","specVersion":"1.6"}' });
    expect(run.code).toBe(0);
    const listed = (await fallbackIndex(open, 'att/bundle', img.digest))!;
    expect(listed.map((l) => l.annotations?.['dev.sigstore.bundle.predicateType']).sort()).toEqual(['https://cyclonedx.org/bom', 'https://sigstore.dev/cosign/sign/v1', 'https://slsa.dev/provenance/v1']);
    const subject = { mediaType: img.mediaType, digest: img.digest, size: img.size };
    const checked = await checkAttestationReferrers(open, 'att/bundle', subject, `${open.host}/att/bundle`, listed, root());
    expect(checked).toHaveLength(2);
    expect(checked.find((c) => c.statement.predicateType === 'https://cyclonedx.org/bom')!.statement.predicate).toEqual({ bomFormat: 'CycloneDX', specVersion: '1.6' });
    expect(await getManifest(open, 'att/bundle', `${img.digest.replace(':', '-')}.att`)).toBeUndefined();
    const out = JSON.parse(run.outputs.attestations) as { format: string; reference: string }[];
    expect(out.map((o) => o.reference).sort()).toEqual(checked.map((c) => `${open.host}/att/bundle@${c.stored}`).sort());
    expect(run.outputs.verified).toBe('true');
  });

  it('both, with a 5 MiB SBOM: one log entry per attestation, stored in both layouts', async () => {
    const open = sandbox().registries.open!;
    const img = await pushImage(open, 'att/both', { tag: 'v1' });
    const sbom = sbomFile('big.spdx.json', 5 * 1024 * 1024);
    const before = await rekorTreeSize();
    const run = await attest({ images: `${open.host}/att/both@${img.digest}`, 'signature-format': 'both', 'predicate-type': SPDX, 'predicate-path': sbom.file });
    expect(run.stdout).not.toMatch(/::error/);
    expect(run.code).toBe(0);
    const name = `${open.host}/att/both`;
    const att = await readAndCheckAtt(open, 'att/both', img.digest, name, root());
    const listed = (await fallbackIndex(open, 'att/both', img.digest))!;
    const ref = await checkAttestationReferrers(open, 'att/both', { mediaType: img.mediaType, digest: img.digest, size: img.size }, name, listed, root());
    expect(att).toHaveLength(2);
    expect(ref).toHaveLength(2);
    const big = att.find((a) => a.statement.predicateType === SPDX)!;
    expect(big.sizeBytes).toBeGreaterThan(5 * 1024 * 1024);
    // The same signed statement and the same log entry in both layouts.
    for (const a of att) expect(ref.find((r) => r.statement.predicateType === a.statement.predicateType)).toMatchObject({ logIndex: a.logIndex, payloadHash: a.payloadHash });
    // 2 signatures (legacy, bundle) + 2 attestations, each logged once.
    expect((await rekorTreeSize()) - before).toBe(4);
    expect(JSON.parse(run.outputs.attestations)).toHaveLength(4);
    expect(run.outputs.verified).toBe('true');
  }, 240_000);

  it('bundle on a Rekor v2 log: a 5 MiB SBOM logged as hashedrekord over the PAE digest, only the digest sent', async () => {
    const open = sandbox().registries.open!;
    const img = await pushImage(open, 'att/v2', { tag: 'v1' });
    const sbom = sbomFile('big-v2.spdx.json', 5 * 1024 * 1024);
    const run = await attest({ images: `${open.host}/att/v2@${img.digest}`, 'signature-format': 'bundle', 'rekor-url': sandbox().sigstore!.rekorV2Url, 'predicate-type': SPDX, 'predicate-path': sbom.file });
    expect(run.stdout).not.toMatch(/::error/);
    expect(run.code).toBe(0);
    const listed = (await fallbackIndex(open, 'att/v2', img.digest))!;
    const ref = await checkAttestationReferrers(open, 'att/v2', { mediaType: img.mediaType, digest: img.digest, size: img.size }, `${open.host}/att/v2`, listed, root());
    expect(ref.map((r) => r.statement.predicateType).sort()).toEqual(['https://slsa.dev/provenance/v1', SPDX]);
    for (const r of ref) {
      const bundle = JSON.parse(fs.readFileSync((JSON.parse(run.outputs.attestations) as { bundlePath: string; predicateType: string }[]).find((o) => o.predicateType === r.statement.predicateType)!.bundlePath, 'utf8'));
      const body = JSON.parse(Buffer.from(bundle.verificationMaterial.tlogEntries[0].canonicalizedBody, 'base64').toString());
      expect(body).toMatchObject({ kind: 'hashedrekord', apiVersion: '0.0.2' });
      expect(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
    }
    // No integrated time on v2: the timestamp authority's time is reported instead.
    for (const o of JSON.parse(run.outputs.attestations) as { rekor: { integratedTime: number } }[]) expect(Math.abs(o.rekor.integratedTime * 1000 - Date.now())).toBeLessThan(10 * 60_000);
    expect(run.outputs.verified).toBe('true');
  }, 240_000);

  it('recursive: every child is signed, the index named is attested once', async () => {
    const open = sandbox().registries.open!;
    const idx = await pushIndex(open, 'att/multi', { platforms: ['linux/amd64', 'linux/arm64'] });
    const run = await attest({ images: `${open.host}/att/multi@${idx.digest}`, recursive: 'platforms' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs.signatures)).toHaveLength(3);
    expect((JSON.parse(run.outputs.attestations) as { digest: string }[]).map((o) => o.digest)).toEqual([idx.digest]);
    for (const child of idx.children) expect(await getManifest(open, 'att/multi', `${child.digest.replace(':', '-')}.att`)).toBeUndefined();
    expect(await readAndCheckAtt(open, 'att/multi', idx.digest, `${open.host}/att/multi`, root())).toHaveLength(1);
  });

  it('a Rekor v1 that refuses the envelope as too large: the error names the size and the options, no .att is written', async () => {
    const open = sandbox().registries.open!;
    const img = await pushImage(open, 'att/too-large', { tag: 'v1' });
    const rekor = await startFaultProxy(sandbox().sigstore!.rekorUrl);
    try {
      // The signature's entry goes through; the attestation's is refused as a load balancer would.
      rekor.inject({ method: 'POST', path: /\/api\/v1\/log\/entries$/, skip: 1, fault: { kind: 'status', status: 413, body: '{"code":413,"message":"Request Entity Too Large"}' } });
      const sbom = sbomFile('refused.spdx.json', 300_000);
      const run = await runAction({
        inputs: { ...sigstoreInputsFor(sandbox()), 'rekor-url': rekor.url, images: `${open.host}/att/too-large@${img.digest}`, 'predicate-type': SPDX, 'predicate-path': sbom.file },
        env: runnerEnvFor(sandbox()),
      });
      expect(run.code).not.toBe(0);
      expect(run.stdout).toMatch(/input `predicate-path`: Rekor \(http:\/\/127\.0\.0\.1:\d+\) refused the attestation's log entry as too large: Rekor v1 needs the whole DSSE envelope \(\d{6} bytes\)/);
      expect(run.stdout).toMatch(/Rekor v2/);
      expect(await getManifest(open, 'att/too-large', `${img.digest.replace(':', '-')}.att`)).toBeUndefined();
      // The signature itself was written and is reported.
      expect(JSON.parse(run.outputs.signatures)).toHaveLength(1);
    } finally {
      await rekor.stop();
    }
  });

  it('two concurrent runs attesting one digest: both .att layers and both referrers survive', async () => {
    const open = sandbox().registries.open!;
    const img = await pushImage(open, 'att/race', { tag: 'v1' });
    const runs = await Promise.all([0, 1].map(() => attest({ images: `${open.host}/att/race@${img.digest}`, 'signature-format': 'both' })));
    for (const r of runs) expect(r.code).toBe(0);
    const name = `${open.host}/att/race`;
    const att = await readAndCheckAtt(open, 'att/race', img.digest, name, root());
    const written = runs.flatMap((r) => (JSON.parse(r.outputs.attestations) as { format: string; rekor: { logIndex: number } }[]).filter((o) => o.format === 'legacy').map((o) => o.rekor.logIndex));
    expect(att.map((a) => a.logIndex).sort()).toEqual(written.sort());
    expect(att).toHaveLength(2);
    // The referrers index: both runs' signature and attestation referrers.
    const listed = (await fallbackIndex(open, 'att/race', img.digest))!;
    expect(listed).toHaveLength(4);
    const ref = await checkAttestationReferrers(open, 'att/race', { mediaType: img.mediaType, digest: img.digest, size: img.size }, name, listed, root());
    expect(ref.map((r) => r.logIndex).sort()).toEqual(written.sort());
  }, 240_000);

  it.each([
    [{ 'predicate-type': SPDX, predicate: '{"spdxVersion":' }, 'predicate', /not JSON/],
    [{ 'predicate-type': SPDX, 'predicate-path': '/nonexistent/sbom.spdx.json' }, 'predicate-path', /cannot read/],
    [{ 'predicate-type': 'spdx', predicate: '{}' }, 'predicate-type', /not a URI/],
    [{ attest: 'provenance\nsbom' }, 'attest', /"sbom" is not an attestation/],
  ])('bad input %j fails before anything is sent, naming `%s`', async (inputs, input, message) => {
    const open = sandbox().registries.open!;
    const img = await pushImage(open, 'att/bad', { tag: 'v1' });
    const before = await rekorTreeSize();
    const run = await attest({ images: `${open.host}/att/bad@${img.digest}`, ...(inputs as Record<string, string>) });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain(`input \`${input}\``);
    expect(run.stdout).toMatch(message);
    expect(await rekorTreeSize()).toBe(before);
    expect(await getManifest(open, 'att/bad', `${img.digest.replace(':', '-')}.att`)).toBeUndefined();
    expect(await getManifest(open, 'att/bad', `${img.digest.replace(':', '-')}.sig`)).toBeUndefined();
  });
});
