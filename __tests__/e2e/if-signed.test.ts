/**
 * End to end: `if-signed` (contract v1.1) with dist/index.js on the sandbox.
 * `skip` writes nothing (no layer, no referrer, no log entry) for a digest and
 * format our identity's verified signature already covers, and reports that
 * signature instead; `append` (the default) always adds one; other identities'
 * signatures do not count.
 */
import fs from 'node:fs';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { getManifest, pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { fallbackIndex } from '../helpers/bundle-checks.js';

let sandbox: Sandbox;
let open: RegistryAccess & { host: string };

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open'] });
  open = sandbox.registries.open!;
}, 60_000);
afterAll(async () => {
  cleanupRuns();
  await sandbox?.stop();
});

interface RecordOut {
  format: string;
  reference: string;
  bundlePath: string;
  skipped?: boolean;
  rekor: { logIndex: number; logId: string; integratedTime: number; uuid: string; url: string };
}

async function sign(image: string, inputs: Record<string, string>, claims?: Parameters<typeof runnerEnvFor>[1]): Promise<RunResult & { records: RecordOut[] }> {
  const run = await runAction({ inputs: { ...sigstoreInputsFor(sandbox), images: image, ...inputs }, env: runnerEnvFor(sandbox, claims) });
  expect(run.stderr).not.toMatch(/unexpected error/);
  if (run.code !== 0) throw new Error(`the run failed:\n${run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')}`);
  return Object.assign(run, { records: JSON.parse(run.outputs.signatures) as RecordOut[] });
}

async function treeSize(): Promise<number> {
  return ((await (await fetch(`${sandbox.sigstore!.rekorUrl}/api/v1/log`)).json()) as { treeSize: number }).treeSize;
}
/**
 * The same log entry. Its UUID, read from the stored signature, is the entry's leaf hash: what
 * Rekor returned at creation is that hash behind the log shard's tree id (Rekor takes either).
 */
function expectSameEntry(found: RecordOut['rekor'], written: RecordOut['rekor']): void {
  const { uuid, ...rest } = found;
  const { uuid: writtenUuid, ...writtenRest } = written;
  expect(rest).toEqual(writtenRest);
  expect(uuid).toMatch(/^[a-f0-9]{64}$/);
  expect(writtenUuid.endsWith(uuid)).toBe(true);
}
const sigLayers = async (repo: string, digest: string): Promise<unknown[]> =>
  ((await getManifest(open, repo, `${digest.replace(':', '-')}.sig`))?.json.layers as unknown[] | undefined) ?? [];

describe('if-signed: skip', () => {
  it('signs a digest once: the second run writes nothing and reports the first signature (verify: false too)', async () => {
    const img = await pushImage(open, 'acme/skip');
    const image = `${open.host}/acme/skip@${img.digest}`;
    const first = await sign(image, { 'if-signed': 'skip' });
    expect(first.records).toHaveLength(1);
    expect(first.records[0].skipped).toBeUndefined();
    const logged = await treeSize();

    const second = await sign(image, { 'if-signed': 'skip', verify: 'false' });
    expect(await sigLayers('acme/skip', img.digest)).toHaveLength(1);
    expect(await treeSize()).toBe(logged);
    const [again] = second.records;
    expect(again).toMatchObject({ format: 'legacy', reference: first.records[0].reference, skipped: true });
    expectSameEntry(again.rekor, first.records[0].rekor);
    expect(JSON.parse(second.outputs['transparency-log-entry'])).toMatchObject({ ...again.rekor, kind: 'hashedrekord' });
    expect(second.outputs['rekor-log-index']).toBe(String(first.records[0].rekor.logIndex));
    expect(second.outputs['rekor-entry-url']).toBe(first.records[0].rekor.url);
    // Verified when found, even with verify: false; its bundle is under bundle-path like a new one's.
    expect(second.outputs.verified).toBe('false');
    expect(second.summary).toContain('skipped: already signed by this identity');
    expect(second.summary).toContain('✅ yes');
    const bundle = JSON.parse(fs.readFileSync(again.bundlePath, 'utf8')) as { verificationMaterial: { tlogEntries: { logIndex: string }[] } };
    expect(bundle.verificationMaterial.tlogEntries[0].logIndex).toBe(String(first.records[0].rekor.logIndex));
  });

  it('adds no second referrer for a bundle, and names the first one', async () => {
    const img = await pushImage(open, 'acme/skip-bundle');
    const image = `${open.host}/acme/skip-bundle@${img.digest}`;
    const first = await sign(image, { 'if-signed': 'skip', 'signature-format': 'bundle' });
    const second = await sign(image, { 'if-signed': 'skip', 'signature-format': 'bundle' });
    expect(await fallbackIndex(open, 'acme/skip-bundle', img.digest)).toHaveLength(1);
    expect(second.records).toEqual([expect.objectContaining({ format: 'bundle', reference: first.records[0].reference, skipped: true })]);
    expectSameEntry(second.records[0].rekor, first.records[0].rekor);
    expect(second.outputs.verified).toBe('true');
  });

  it('with `both`, skips the legacy signature that is there and writes the missing bundle', async () => {
    const img = await pushImage(open, 'acme/skip-both');
    const image = `${open.host}/acme/skip-both@${img.digest}`;
    const legacy = await sign(image, {});
    const both = await sign(image, { 'if-signed': 'skip', 'signature-format': 'both' });
    expect(await sigLayers('acme/skip-both', img.digest)).toHaveLength(1);
    expect(await fallbackIndex(open, 'acme/skip-both', img.digest)).toHaveLength(1);
    const byFormat = Object.fromEntries(both.records.map((r) => [r.format, r]));
    expect(byFormat.legacy.skipped).toBe(true);
    expectSameEntry(byFormat.legacy.rekor, legacy.records[0].rekor);
    expect(byFormat.bundle.skipped).toBeUndefined();
    expect(byFormat.bundle.rekor.logIndex).toBeGreaterThan(legacy.records[0].rekor.logIndex);
    expect(both.outputs.verified).toBe('true');
  });

  it("still writes ours when only another identity's signature is there", async () => {
    const img = await pushImage(open, 'acme/skip-other');
    const image = `${open.host}/acme/skip-other@${img.digest}`;
    const other = `${defaultClaims().repository}/.github/workflows/other.yml@refs/heads/main`;
    await sign(image, {}, { job_workflow_ref: other });
    const ours = await sign(image, { 'if-signed': 'skip' });
    expect(ours.records).toHaveLength(1);
    expect(ours.records[0].skipped).toBeUndefined();
    expect(await sigLayers('acme/skip-other', img.digest)).toHaveLength(2);
  });
});

describe('if-signed: skip, concurrently', () => {
  it('three runs at once on an unsigned digest may each write one, and every one they report is kept', async () => {
    const img = await pushImage(open, 'acme/skip-race');
    const image = `${open.host}/acme/skip-race@${img.digest}`;
    const runs = await Promise.all([0, 1, 2].map(() => sign(image, { 'if-signed': 'skip' })));
    const written = runs.map((r) => r.records[0]).filter((r) => !r.skipped);
    // None saw a signature when it looked, or a later one found an earlier one's: at least one wrote.
    expect(written.length).toBeGreaterThanOrEqual(1);
    const layers = (await sigLayers('acme/skip-race', img.digest)) as { annotations: Record<string, string> }[];
    expect(layers).toHaveLength(written.length);
    // Every entry a run reports (written or found) is one the .sig holds: none was lost to a race.
    const kept = new Set(layers.map((l) => (JSON.parse(l.annotations['dev.sigstore.cosign/bundle']) as { Payload: { logIndex: number } }).Payload.logIndex));
    for (const run of runs) expect(kept.has(run.records[0].rekor.logIndex)).toBe(true);
  });
});

describe('if-signed: append (default)', () => {
  it('adds a signature each run, as cosign does', async () => {
    const img = await pushImage(open, 'acme/append');
    const image = `${open.host}/acme/append@${img.digest}`;
    const first = await sign(image, {});
    const second = await sign(image, { 'if-signed': 'append' });
    expect(await sigLayers('acme/append', img.digest)).toHaveLength(2);
    expect(second.records[0].skipped).toBeUndefined();
    expect(second.records[0].rekor.logIndex).not.toBe(first.records[0].rekor.logIndex);
  });
});
