/**
 * The attestation self-check, on what attestSubject really wrote (sandbox
 * Sigstore, in-memory registry): it passes as written, and fails, with a
 * reason, for each thing a verifier would refuse.
 */
import { attestSubject } from '../../src/attest/sign.js';
import { selfCheckAttestations } from '../../src/attest/self-check.js';
import type { AttestationRecord } from '../../src/attest/types.js';
import type { SigningCertificate } from '../../src/identity/certificate.js';
import type { RegistryClient } from '../../src/registry/client.js';
import type { BundleSigningContext } from '../../src/sign/bundle.js';
import type { Subject } from '../../src/subjects/resolve.js';
import { RekorClient } from '../../src/transparency/rekor.js';
import { digestOf, MemoryRegistry, memoryImage } from '../helpers/memory-registry.js';
import { startSigningFixture, type SigningFixture } from '../helpers/signing-fixture.js';

let fixture: SigningFixture;
beforeAll(async () => {
  fixture = await startSigningFixture('attest-self-check');
}, 60_000);
afterAll(() => fixture?.stop());

const SPEC = { predicateType: 'https://spdx.dev/Document', predicate: { spdxVersion: 'SPDX-2.3' }, source: 'predicate' };

async function written(api: boolean): Promise<{ reg: MemoryRegistry; subject: Subject; records: AttestationRecord[]; cert: SigningCertificate }> {
  const reg = new MemoryRegistry(api);
  const subject = await memoryImage(reg, `att-${Math.random()}`);
  const ctx: BundleSigningContext = {
    signer: fixture.signer,
    rekor: new RekorClient(fixture.sigstore.rekorUrl),
    registry: reg as unknown as RegistryClient,
    annotations: {},
    bundleDir: fixture.bundleDir,
    instance: 'custom',
  };
  const records = await attestSubject(subject, SPEC, ['legacy', 'bundle'], ctx);
  return { reg, subject, records, cert: await fixture.signer.certificate() };
}

const check = async (w: Awaited<ReturnType<typeof written>>) =>
  [...(await selfCheckAttestations(w.reg as never, w.records, [w.subject], fixture.trust, w.cert)).values()];

/** Rewrites the manifest at `tag` (JSON edit), keeping the tag. */
async function editTag(reg: MemoryRegistry, tag: string, edit: (json: { layers: { digest: string; annotations: Record<string, string> }[] }) => void): Promise<void> {
  const m = (await reg.getManifest(undefined, tag))!;
  const json = m.json as { layers: { digest: string; annotations: Record<string, string> }[] };
  edit(json);
  await reg.putManifest(undefined, tag, Buffer.from(JSON.stringify(json)), m.descriptor.mediaType);
}

describe('attestation self-check', () => {
  it.each([false, true])('passes what was written, in both layouts (referrers API: %s)', async (api) => {
    const w = await written(api);
    expect(w.records.map((r) => r.format)).toEqual(['legacy', 'bundle']);
    expect((await check(w)).map((v) => v?.ok)).toEqual([true, true]);
  });

  it('fails a .att layer whose predicateType annotation was changed, or whose log entry is for other bytes', async () => {
    const w = await written(false);
    const tag = `${w.subject.digest.replace(':', '-')}.att`;
    await editTag(w.reg, tag, (j) => (j.layers[0].annotations.predicateType = 'https://slsa.dev/provenance/v1'));
    expect((await check(w))[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/predicateType annotation/) });

    const w2 = await written(false);
    const tag2 = `${w2.subject.digest.replace(':', '-')}.att`;
    // Same envelope, re-serialized with whitespace: the signature still verifies, the logged envelope hash does not match.
    const layer = ((await w2.reg.getManifest(undefined, tag2))!.json as { layers: { digest: string }[] }).layers[0];
    const spaced = Buffer.from(JSON.stringify(JSON.parse((await w2.reg.getBlob(undefined, layer.digest)).toString()), null, 1));
    await w2.reg.pushBlob(undefined, spaced);
    await editTag(w2.reg, tag2, (j) => {
      j.layers[0].digest = digestOf(spaced);
    });
    w2.records[0] = { ...w2.records[0], storedDigest: digestOf(spaced) };
    expect((await check(w2))[0]).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/log entry is for another envelope/) });
  });

  it('fails a .att layer without the chain (Kyverno type: Cosign needs it)', async () => {
    const w = await written(false);
    await editTag(w.reg, `${w.subject.digest.replace(':', '-')}.att`, (j) => delete j.layers[0].annotations['dev.sigstore.cosign/chain']);
    expect((await check(w))[0]).toMatchObject({ ok: false, failure: 'chain' });
  });

  it('fails a referrer no longer listed, or listed without its predicate type', async () => {
    const w = await written(false);
    const index = w.subject.digest.replace(':', '-');
    const m = (await w.reg.getManifest(undefined, index))!;
    const json = m.json as { manifests: { annotations?: Record<string, string> }[] };
    await w.reg.putManifest(undefined, index, Buffer.from(JSON.stringify({ ...json, manifests: json.manifests.map((d) => ({ ...d, annotations: { x: 'y' } })) })), m.descriptor.mediaType);
    expect((await check(w))[1]).toMatchObject({ ok: false, reason: expect.stringMatching(/predicate type annotation/) });
    await w.reg.putManifest(undefined, index, Buffer.from(JSON.stringify({ ...json, manifests: [] })), m.descriptor.mediaType);
    expect((await check(w))[1]).toMatchObject({ ok: false, failure: 'none-found' });
  });

  it('fails for another identity', async () => {
    const w = await written(true);
    const other = { ...w.cert, identity: 'https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main' };
    const verdicts = [...(await selfCheckAttestations(w.reg as never, w.records, [w.subject], fixture.trust, other)).values()];
    expect(verdicts.map((v) => v?.failure)).toEqual(['identity', 'identity']);
  });
});
