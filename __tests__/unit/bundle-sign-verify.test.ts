/**
 * signBundle and verifyBundleSignatures against the sandbox's real Sigstore
 * (Fulcio, Rekor v1, TSA, trusted root) and an in-memory registry, with and
 * without the referrers API. Then the ways a bundle referrer must fail or be
 * skipped: a bundle moved to another image, a referrer whose subject is
 * another image, another identity, a tampered signature, an attestation.
 */
import fs from 'node:fs';
import type { SandboxSigstore } from '../../sandbox/sigstore/index.js';
import { startSigningFixture, type SigningFixture } from '../helpers/signing-fixture.js';
import type { EphemeralSigner } from '../../src/identity/certificate.js';
import type { RegistryClient } from '../../src/registry/client.js';
import { signBundle, type BundleSigningContext } from '../../src/sign/bundle.js';
import type { SignatureRecord } from '../../src/sign/types.js';
import { RekorClient } from '../../src/transparency/rekor.js';
import { RekorV2Client, rekorApiVersion } from '../../src/transparency/rekor-v2.js';
import { TimestampClient } from '../../src/transparency/tsa.js';
import { selfCheckBundle, verifyBundleSignatures } from '../../src/verify/bundle.js';
import { INDEX, MemoryRegistry, memoryImage, memoryRepo } from '../helpers/memory-registry.js';
import type { Trust } from '../../src/verify/trust.js';

const repo = memoryRepo;

let fixture: SigningFixture;
let sigstore: SandboxSigstore;
let signer: EphemeralSigner;
let trust: Trust;
let bundleDir: string;

beforeAll(async () => {
  fixture = await startSigningFixture('bundle-unit');
  ({ sigstore, signer, trust, bundleDir } = fixture);
}, 60_000);
afterAll(() => fixture?.stop());

const image = memoryImage;

function context(reg: MemoryRegistry, tsa = false): BundleSigningContext {
  return {
    signer,
    rekor: new RekorClient(sigstore.rekorUrl),
    registry: reg as unknown as RegistryClient,
    annotations: { env: 'prod' },
    bundleDir,
    instance: 'custom',
    tsa: tsa ? new TimestampClient(sigstore.tsaUrl) : undefined,
  };
}

const policy = async () => {
  const cert = await signer.certificate();
  return { exact: cert.identity, issuer: cert.issuer };
};

describe('signBundle + verifyBundleSignatures', () => {
  it('without the referrers API: the referrer is listed in the sha256-<hex> index and verifies', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await image(reg, 'a');
    const record = await signBundle(subject, context(reg));
    expect(record).toMatchObject({ format: 'bundle', image: `mem.example/acme/app@${subject.digest}`, rekor: { kind: 'dsse' } });
    const referrer = record.reference.split('@')[1];
    const index = await reg.getManifest(repo, subject.digest.replace(':', '-'));
    expect(index?.json.manifests).toEqual([expect.objectContaining({ digest: referrer, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })]);
    const verdicts = await verifyBundleSignatures(reg, repo, subject.digest, trust, await policy());
    expect(verdicts).toEqual([expect.objectContaining({ ok: true, format: 'bundle', reference: record.reference, logIndex: record.rekor.logIndex })]);
    expect((await selfCheckBundle(reg, record, repo, trust, await signer.certificate())).ok).toBe(true);
    expect(JSON.parse(fs.readFileSync(record.bundlePath, 'utf8')).dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
  });

  it('with the referrers API: no fallback tag is written, and it verifies from the API listing', async () => {
    const reg = new MemoryRegistry(true);
    const subject = await image(reg, 'b');
    const record = await signBundle(subject, context(reg, true));
    expect([...reg.tags.keys()]).toEqual([]);
    const bundle = JSON.parse(fs.readFileSync(record.bundlePath, 'utf8'));
    expect(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
    const verdicts = await verifyBundleSignatures(reg, repo, subject.digest, trust, await policy());
    expect(verdicts.map((v) => v.ok)).toEqual([true]);
  });

  it('fails another identity, and a tampered signature', async () => {
    const reg = new MemoryRegistry(true);
    const subject = await image(reg, 'c');
    const record = await signBundle(subject, context(reg));
    const other = await verifyBundleSignatures(reg, repo, subject.digest, trust, { exact: 'https://github.com/evil/x/.github/workflows/a.yml@refs/heads/main', issuer: (await policy()).issuer });
    expect(other).toEqual([expect.objectContaining({ ok: false, failure: 'identity' })]);

    const manifest = (await reg.getManifest(repo, record.reference.split('@')[1]))!;
    const layer = (manifest.json as { layers: { digest: string }[] }).layers[0];
    const bundle = JSON.parse(reg.blobs.get(layer.digest)!.toString());
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 1] ^= 1;
    bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    reg.blobs.set(layer.digest, Buffer.from(JSON.stringify(bundle))); // the memory registry does not check digests
    const tampered = await verifyBundleSignatures(reg, repo, subject.digest, trust, await policy());
    expect(tampered).toEqual([expect.objectContaining({ ok: false })]);
    expect(['signature', 'log-proof']).toContain(tampered[0].failure);
  });

  it("refuses a bundle copied under another image: the statement names the first image's digest", async () => {
    const reg = new MemoryRegistry(false);
    const a = await image(reg, 'd1');
    const b = await image(reg, 'd2');
    const record = await signBundle(a, context(reg));
    const original = (await reg.getManifest(repo, record.reference.split('@')[1]))!;
    const moved = { ...(original.json as object), subject: { mediaType: INDEX, digest: b.digest, size: b.size } };
    const d = await reg.putManifest(repo, 'sha256:x', Buffer.from(JSON.stringify(moved)), 'application/vnd.oci.image.manifest.v1+json');
    const entry = { ...d, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' };
    await reg.putManifest(repo, b.digest.replace(':', '-'), Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [entry] })), INDEX);
    const verdicts = await verifyBundleSignatures(reg, repo, b.digest, trust, await policy());
    expect(verdicts).toEqual([expect.objectContaining({ ok: false, failure: 'digest-claim' })]);
    expect(verdicts[0].reason).toContain(a.digest);

    // Listing A's own referrer under B (its manifest still names A) fails on the subject.
    await reg.putManifest(repo, b.digest.replace(':', '-'), Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ ...entry, digest: original.descriptor.digest }] })), INDEX);
    const listed = await verifyBundleSignatures(reg, repo, b.digest, trust, await policy());
    expect(listed).toEqual([expect.objectContaining({ ok: false, failure: 'digest-claim', reason: expect.stringContaining("referrer's subject") })]);
  });

  it('skips bundles of other predicates (attestations) and non-bundle referrers', async () => {
    const reg = new MemoryRegistry(true);
    const subject = await image(reg, 'e');
    await signBundle(subject, context(reg));
    const sbom = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json', subject: { mediaType: INDEX, digest: subject.digest, size: subject.size }, config: {}, layers: [] };
    await reg.putManifest(repo, 'sha256:x', Buffer.from(JSON.stringify(sbom)), 'application/vnd.oci.image.manifest.v1+json');
    const att = { ...sbom, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json', annotations: { 'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1' } };
    await reg.putManifest(repo, 'sha256:x', Buffer.from(JSON.stringify(att)), 'application/vnd.oci.image.manifest.v1+json');
    const verdicts = await verifyBundleSignatures(reg, repo, subject.digest, trust, await policy());
    expect(verdicts.map((v) => v.ok)).toEqual([true]);
  });

  it('self-check waits for a referrers API that lists a new referrer late', async () => {
    const reg = new MemoryRegistry(true);
    const subject = await image(reg, 'late');
    const record = await signBundle(subject, context(reg));
    const listing = reg.referrers.bind(reg);
    let calls = 0;
    reg.referrers = async (r: unknown, d: string) => (++calls < 3 ? { supported: true as const, manifests: [] } : listing(r, d));
    expect(await selfCheckBundle(reg, record, repo, trust, await signer.certificate(), [1, 1])).toMatchObject({ ok: true });
    expect(calls).toBe(3);
  });

  it('self-check fails when our referrer is not listed', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await image(reg, 'f');
    const record: SignatureRecord = { ...(await signBundle(subject, context(reg))) };
    reg.tags.clear();
    const verdict = await selfCheckBundle(reg, record, repo, trust, await signer.certificate(), [1, 1]);
    expect(verdict).toMatchObject({ ok: false, failure: 'none-found' });
  });
});

describe('Rekor v2 (a custom instance without v1)', () => {
  const treeSize = async () => Number((await (await fetch(`${sigstore.rekorV2Url}/api/v2/checkpoint`)).text()).split('\n')[1]);

  it('tells v1 from v2 by the routes each answers', async () => {
    expect(await rekorApiVersion(sigstore.rekorUrl)).toBe(1);
    expect(await rekorApiVersion(sigstore.rekorV2Url)).toBe(2);
    await expect(rekorApiVersion(sigstore.fulcioUrl)).rejects.toThrow(/input `rekor-url`: .*neither the Rekor v1 API/);
  });

  it('logs a hashedrekord 0.0.2 entry over the PAE (rekor-tiles ≥ 2.3 takes no DSSE), timestamps it, and the bundle verifies', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await image(reg, 'v2');
    const size = await treeSize();
    const record = await signBundle(subject, { ...context(reg, true), rekorV2: new RekorV2Client(sigstore.rekorV2Url) });
    expect(await treeSize()).toBe(size + 1);
    const bundle = JSON.parse(fs.readFileSync(record.bundlePath, 'utf8'));
    const tlog = bundle.verificationMaterial.tlogEntries[0];
    expect(tlog.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
    expect(tlog).not.toHaveProperty('inclusionPromise');
    expect(tlog.inclusionProof.checkpoint.envelope).toContain('\n');
    expect(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
    expect(record.rekor.logIndex).toBe(Number(tlog.logIndex));
    expect(Math.abs(record.rekor.integratedTime * 1000 - Date.now())).toBeLessThan(60_000);
    const verdicts = await verifyBundleSignatures(reg, repo, subject.digest, trust, await policy());
    expect(verdicts).toEqual([expect.objectContaining({ ok: true })]);
  });

  it('refuses to log in v2 without a timestamp authority, before logging anything', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await image(reg, 'v2-no-tsa');
    const size = await treeSize();
    await expect(signBundle(subject, { ...context(reg, false), rekorV2: new RekorV2Client(sigstore.rekorV2Url) })).rejects.toThrow(/input `tsa-url`: Rekor v2 records no signing time/);
    expect(await treeSize()).toBe(size);
    expect([...reg.tags.keys()]).toEqual([]);
  });
});
