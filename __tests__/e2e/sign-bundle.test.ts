/**
 * End to end: dist/index.js run as the GitHub runner would, with
 * `signature-format: bundle` and `both`, against the sandbox's distribution 2.8
 * (no referrers API: the fallback `sha256-<hex>` index) and, for the referrers
 * API branch, a faithful proxy in front of it. What landed in the registry is
 * checked against formats.md by __tests__/helpers/bundle-checks.ts, and
 * verified with @sigstore/verify from the registry alone. Also `recursive`.
 *
 */
import fs from 'node:fs';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { getManifest, listTags, pushImage, pushIndex, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor } from '../../sandbox/runner.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { checkBundleReferrers, fallbackIndex, referrersApi } from '../helpers/bundle-checks.js';
import { readAndCheckLegacy, type TrustedRootJson } from '../helpers/legacy-checks.js';
import { startReferrersProxy, type ReferrersProxy } from '../helpers/referrers-proxy.js';

const IDENTITY = `https://github.com/${defaultClaims().job_workflow_ref}`;

let sandbox: Sandbox;
let open: RegistryAccess & { host: string };
let proxy: ReferrersProxy;
let trustedRoot: TrustedRootJson;

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open'] });
  open = sandbox.registries.open!;
  proxy = await startReferrersProxy(open.url);
  trustedRoot = sandbox.sigstore!.trustedRoot as TrustedRootJson;
}, 60_000);
afterAll(async () => {
  await proxy?.stop();
  cleanupRuns();
  await sandbox?.stop();
});

const sign = (inputs: Record<string, string>) =>
  runAction({ inputs: { ...sigstoreInputsFor(sandbox), 'signature-format': 'bundle', ...inputs }, env: runnerEnvFor(sandbox) });

interface RecordOut {
  image: string;
  digest: string;
  format: string;
  reference: string;
  bundlePath: string;
  platform?: string;
  rekor: { logIndex: number };
}
const recordsOf = (outputs: Record<string, string>): RecordOut[] => JSON.parse(outputs.signatures) as RecordOut[];
const subjectOf = (img: { digest: string; mediaType: string; size: number }) => ({ digest: img.digest, mediaType: img.mediaType, size: img.size });

describe('bundle signing on a registry without the referrers API (distribution 2.8)', () => {
  it('attaches a referrer listed in the sha256-<hex> index, that verifies from the registry alone', async () => {
    const img = await pushImage(open, 'acme/bundle', { tag: 'v1' });
    const run = await sign({ images: `${open.host}/acme/bundle@${img.digest}`, annotations: 'env=prod\nteam=core' });
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);

    // distribution 2.8 really has no API: this run took the fallback branch.
    expect((await fetch(`${open.url}/v2/acme/bundle/referrers/${img.digest}`)).status).toBe(404);
    const listed = (await fallbackIndex(open, 'acme/bundle', img.digest))!;
    expect(listed).toHaveLength(1);
    const [checked] = await checkBundleReferrers(open, 'acme/bundle', subjectOf(img), listed, trustedRoot, { env: 'prod', team: 'core' });
    expect(checked.identity).toBe(IDENTITY);
    expect(checked.timestamped).toBe(true); // tsa-url is set by the sandbox inputs

    const records = recordsOf(run.outputs);
    expect(records).toEqual([
      expect.objectContaining({ image: `${open.host}/acme/bundle@${img.digest}`, digest: img.digest, format: 'bundle', reference: `${open.host}/acme/bundle@${checked.referrer}` }),
    ]);
    expect(records[0].rekor.logIndex).toBe(checked.logIndex);
    expect(JSON.parse(run.outputs['transparency-log-entry'])).toMatchObject({ logIndex: checked.logIndex, kind: 'dsse' });
    expect(run.outputs.verified).toBe('true');
    expect(JSON.parse(fs.readFileSync(records[0].bundlePath, 'utf8'))).toEqual(checked.bundle);
    expect(await getManifest(open, 'acme/bundle', `${img.digest.replace(':', '-')}.sig`)).toBeUndefined();
  });

  it('`both` writes a legacy .sig and a bundle referrer with the one certificate of the run', async () => {
    const img = await pushImage(open, 'acme/both');
    const run = await sign({ images: `${open.host}/acme/both@${img.digest}`, 'signature-format': 'both' });
    expect(run.code).toBe(0);
    expect(recordsOf(run.outputs).map((r) => r.format).sort()).toEqual(['bundle', 'legacy']);
    expect(run.outputs.verified).toBe('true');
    const legacy = await readAndCheckLegacy(open, 'acme/both', img.digest, `${open.host}/acme/both`, trustedRoot);
    expect(legacy.signatures).toHaveLength(1);
    const bundles = await checkBundleReferrers(open, 'acme/both', subjectOf(img), (await fallbackIndex(open, 'acme/both', img.digest))!, trustedRoot);
    expect(bundles).toHaveLength(1);
    expect(legacy.signatures[0].identity).toBe(IDENTITY);
    expect(bundles[0].identity).toBe(IDENTITY);
    const legacyLeaf = Buffer.from(legacy.signatures[0].annotations['dev.sigstore.cosign/certificate'].replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(legacyLeaf.equals(bundles[0].leafDer)).toBe(true);
  });

  it('keeps every referrer listed when 8 runs sign one digest at the same moment', async () => {
    const img = await pushImage(open, 'acme/bundle-race');
    const runs = await Promise.all(Array.from({ length: 8 }, () => sign({ images: `${open.host}/acme/bundle-race@${img.digest}` })));
    runs.forEach((r) => expect(r.code).toBe(0));
    const listed = (await fallbackIndex(open, 'acme/bundle-race', img.digest))!;
    const checked = await checkBundleReferrers(open, 'acme/bundle-race', subjectOf(img), listed, trustedRoot);
    const logged = runs.map((r) => Number(r.outputs['rekor-log-index'])).sort((a, b) => a - b);
    expect(checked.map((c) => c.logIndex).sort((a, b) => a - b)).toEqual(logged);
    expect(new Set(listed.map((d) => d.digest)).size).toBe(8);
  }, 180_000);

  it('verify mode finds and verifies a bundle-only signature, and names the identity it does not match', async () => {
    const img = await pushImage(open, 'acme/bundle-verify');
    expect((await sign({ images: `${open.host}/acme/bundle-verify@${img.digest}` })).code).toBe(0);
    const verify = (identity: string) =>
      runAction({ inputs: { ...sigstoreInputsFor(sandbox), mode: 'verify', images: `${open.host}/acme/bundle-verify@${img.digest}`, 'certificate-identity': identity } });
    const ok = await verify(IDENTITY);
    expect(ok.code).toBe(0);
    expect(ok.outputs.verified).toBe('true');
    expect(ok.stdout).toMatch(/verified \(bundle, log entry \d+\)/);
    const other = await verify('https://github.com/kupecloud/demo-app/.github/workflows/other.yml@refs/heads/main');
    expect(other.code).not.toBe(0);
    expect(other.stdout).toContain(`signed by another identity: ${IDENTITY}`);
  });
});

describe('bundle signing on a registry with the referrers API', () => {
  it('relies on the API: no fallback tag is written, the API lists a referrer that verifies', async () => {
    const img = await pushImage(open, 'acme/api');
    const before = proxy.referrerRequests();
    const run = await sign({ images: `${proxy.host}/acme/api@${img.digest}` });
    expect(run.code).toBe(0);
    expect(run.outputs.verified).toBe('true');
    expect(proxy.referrerRequests()).toBeGreaterThan(before);
    expect(await listTags(open, 'acme/api')).not.toContain(img.digest.replace(':', '-'));
    expect(await fallbackIndex(open, 'acme/api', img.digest)).toBeUndefined();
    const listed = await referrersApi(proxy, 'acme/api', img.digest);
    const checked = await checkBundleReferrers(proxy, 'acme/api', subjectOf(img), listed, trustedRoot);
    expect(checked).toHaveLength(1);
    expect(recordsOf(run.outputs)[0].reference).toBe(`${proxy.host}/acme/api@${checked[0].referrer}`);
  });
});

describe('a referrers API answering with Content-Type parameters', () => {
  let withParams: ReferrersProxy;
  beforeAll(async () => {
    withParams = await startReferrersProxy(open.url, { contentType: 'application/vnd.oci.image.index.v1+json; charset=utf-8' });
  });
  afterAll(() => withParams?.stop());

  it('is not relied on, as go-containerregistry (cosign 3, Kyverno) does not: the referrer is listed in the fallback index, where they look', async () => {
    const img = await pushImage(open, 'acme/api-params');
    const run = await sign({ images: `${withParams.host}/acme/api-params@${img.digest}` });
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.outputs.verified).toBe('true');
    const listed = await fallbackIndex(open, 'acme/api-params', img.digest);
    expect(listed).toBeDefined();
    const checked = await checkBundleReferrers(open, 'acme/api-params', subjectOf(img), listed!, trustedRoot);
    expect(checked).toHaveLength(1);
    expect(recordsOf(run.outputs)[0].reference).toBe(`${withParams.host}/acme/api-params@${checked[0].referrer}`);
  });
});

describe('a custom instance that runs Rekor v2 only', () => {
  it('logs bundles there, with an RFC 3161 timestamp for the signing time, and they verify', async () => {
    const img = await pushImage(open, 'acme/v2');
    const run = await sign({ images: `${open.host}/acme/v2@${img.digest}`, 'rekor-url': sandbox.sigstore!.rekorV2Url });
    expect(run.code).toBe(0);
    expect(run.outputs.verified).toBe('true');
    const [checked, ...more] = await checkBundleReferrers(open, 'acme/v2', subjectOf(img), (await fallbackIndex(open, 'acme/v2', img.digest))!, trustedRoot);
    expect(more).toEqual([]);
    expect(checked.bundle.verificationMaterial.tlogEntries[0].kindVersion.version).toBe('0.0.2');
    expect(checked.timestamped).toBe(true);
    expect(checked.identity).toBe(IDENTITY);
  });

  it('refuses legacy signatures (they need a Rekor v1 SET) before anything is logged or written', async () => {
    const img = await pushImage(open, 'acme/v2-legacy');
    const run = await sign({ images: `${open.host}/acme/v2-legacy@${img.digest}`, 'rekor-url': sandbox.sigstore!.rekorV2Url, 'signature-format': 'both' });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/input `signature-format`: .* is a Rekor v2 log.*legacy \.sig signatures need Rekor v1/);
    expect(await listTags(open, 'acme/v2-legacy')).toEqual([]);
  });
});

describe('recursive signing of an index (legacy format)', () => {
  const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;

  it('`platforms` signs the index and each platform manifest, not the attestation manifests', async () => {
    const idx = await pushIndex(open, 'acme/multi-p', { platforms: ['linux/amd64', 'linux/arm64'], attestations: true });
    const run = await sign({ images: `${open.host}/acme/multi-p@${idx.digest}`, recursive: 'platforms', 'signature-format': 'legacy' });
    expect(run.code).toBe(0);
    const platforms = idx.children.filter((c) => !c.attestation);
    const attestations = idx.children.filter((c) => c.attestation);
    expect(attestations).toHaveLength(2);
    const records = recordsOf(run.outputs);
    expect(records.map((r) => r.digest).sort()).toEqual([idx.digest, ...platforms.map((c) => c.digest)].sort());
    for (const c of platforms) {
      expect(records.find((r) => r.digest === c.digest)?.platform).toBe(c.platform);
      expect((await readAndCheckLegacy(open, 'acme/multi-p', c.digest, `${open.host}/acme/multi-p`, trustedRoot)).signatures).toHaveLength(1);
    }
    expect((await readAndCheckLegacy(open, 'acme/multi-p', idx.digest, `${open.host}/acme/multi-p`, trustedRoot)).signatures).toHaveLength(1);
    for (const c of attestations) expect(await getManifest(open, 'acme/multi-p', sigTag(c.digest))).toBeUndefined();
  });

  it('`all` signs every child, attestation manifests included', async () => {
    const idx = await pushIndex(open, 'acme/multi-a', { platforms: ['linux/amd64', 'linux/arm64'], attestations: true });
    const run = await sign({ images: `${open.host}/acme/multi-a@${idx.digest}`, recursive: 'all', 'signature-format': 'legacy' });
    expect(run.code).toBe(0);
    expect(recordsOf(run.outputs).map((r) => r.digest).sort()).toEqual([idx.digest, ...idx.children.map((c) => c.digest)].sort());
    for (const c of idx.children) {
      expect((await readAndCheckLegacy(open, 'acme/multi-a', c.digest, `${open.host}/acme/multi-a`, trustedRoot)).signatures).toHaveLength(1);
    }
  });

  it('`none` signs the index alone', async () => {
    const idx = await pushIndex(open, 'acme/multi-n', { platforms: ['linux/amd64', 'linux/arm64'] });
    const run = await sign({ images: `${open.host}/acme/multi-n@${idx.digest}`, 'signature-format': 'legacy' });
    expect(run.code).toBe(0);
    expect(recordsOf(run.outputs).map((r) => r.digest)).toEqual([idx.digest]);
    for (const c of idx.children) expect(await getManifest(open, 'acme/multi-n', sigTag(c.digest))).toBeUndefined();
  });
});
