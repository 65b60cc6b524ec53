/**
 * Verify mode for attestations on a real cosign-made attestation
 * (__tests__/fixtures/real-world/cosign-oci-attestation.sigstore.json, made on
 * the public-good instance), in both layouts: as the bundle referrer cosign
 * stores, and as the `.att` layer the same signature becomes in cosign's
 * legacy layout (its envelope bytes rebuilt exactly: the log entry's
 * envelopeHash proves it). It passes for its identity, type and digest only.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { MemoryRegistry, memoryRepo, pushReferrer } from '../helpers/memory-registry.js';
import type { Subject } from '../../src/subjects/resolve.js';
import { verifyImageAttestations } from '../../src/verify/attestation-verdict.js';
import { attestationTag } from '../../src/formats/attestation-constants.js';
import { verifyAttestationLayer } from '../../src/verify/attestation-legacy.js';
import { trustFromJson } from '../../src/verify/trust.js';
import { verifyResultsJson } from '../../src/report/outputs.js';

const fixtures = new URL('../fixtures/real-world/', import.meta.url);
const read = (name: string) => JSON.parse(readFileSync(new URL(name, fixtures), 'utf8'));
const bundle = read('cosign-oci-attestation.sigstore.json') as SerializedBundle & {
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
  verificationMaterial: { certificate: { rawBytes: string }; tlogEntries: { logIndex: string; logId: { keyId: string }; integratedTime: string; canonicalizedBody: string; inclusionPromise: { signedEntryTimestamp: string } }[] };
};
const trust = trustFromJson(read('public-good-trusted-root.json'), 'fixture');
const OAUTH = 'https://github.com/login/oauth';
const IDENTITY = 'cody@soyland.com';
const TYPE = 'https://cosign.sigstore.dev/attestation/v1';
const DIGEST = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const OTHER_DIGEST = `sha256:${'c'.repeat(64)}`;
const policy = { exact: IDENTITY, issuer: OAUTH };

const subjectFor = (digest: string): Subject => ({
  repo: memoryRepo,
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 100,
  dockerReference: `${memoryRepo.registry}/${memoryRepo.repository}`,
  names: [],
});

/** The envelope as cosign 2 marshals it (go-securesystemslib: payloadType, payload, signatures[{keyid, sig}]). */
const envelopeBytes = Buffer.from(
  JSON.stringify({
    payloadType: bundle.dsseEnvelope.payloadType,
    payload: bundle.dsseEnvelope.payload,
    signatures: bundle.dsseEnvelope.signatures.map((s) => ({ keyid: '', sig: s.sig })),
  }),
);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const entry = bundle.verificationMaterial.tlogEntries[0];
const certPem = `-----BEGIN CERTIFICATE-----\n${bundle.verificationMaterial.certificate.rawBytes.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
const attLayer = {
  mediaType: 'application/vnd.dsse.envelope.v1+json',
  size: envelopeBytes.length,
  digest: `sha256:${sha256(envelopeBytes)}`,
  annotations: {
    'dev.cosignproject.cosign/signature': '',
    'dev.sigstore.cosign/certificate': certPem,
    'dev.sigstore.cosign/chain': '',
    'dev.sigstore.cosign/bundle': JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: { body: entry.canonicalizedBody, integratedTime: Number(entry.integratedTime), logIndex: Number(entry.logIndex), logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex') },
    }),
    predicateType: TYPE,
  },
};

async function registryWith(layout: 'bundle' | 'att', digest = DIGEST, api = true): Promise<MemoryRegistry> {
  const reg = new MemoryRegistry(api);
  if (layout === 'bundle') {
    await pushReferrer(reg, subjectFor(digest), bundle, { annotations: { 'dev.sigstore.bundle.predicateType': TYPE, 'dev.sigstore.bundle.content': 'dsse-envelope' } });
  } else {
    await reg.pushBlob(memoryRepo, envelopeBytes);
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: 'sha256:x' }, layers: [attLayer] };
    await reg.putManifest(memoryRepo, attestationTag(digest), JSON.stringify(manifest), 'application/vnd.oci.image.manifest.v1+json');
  }
  return reg;
}

it('the rebuilt .att envelope is byte for byte what cosign logged', () => {
  const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString('utf8'));
  expect(body.spec.envelopeHash.value).toBe(sha256(envelopeBytes));
});

describe.each([
  ['a bundle referrer (referrers API)', 'bundle', true],
  ['a bundle referrer (sha256-<hex> index)', 'bundle', false],
  ['a .att tag', 'att', true],
] as const)('a real cosign attestation in %s', (_name, layout, api) => {
  const format = layout === 'att' ? 'legacy' : 'bundle';

  it('verifies for its identity, issuer, type and digest; verify-results names it with its type', async () => {
    const v = await verifyImageAttestations(await registryWith(layout, DIGEST, api), subjectFor(DIGEST), trust, policy, TYPE);
    expect(v).toMatchObject({ ok: true, reason: `verified (${format}, log entry 175508996): ${TYPE} attestation by ${IDENTITY}` });
    const [json] = verifyResultsJson([v], TYPE) as { predicateType: string; attestations: object[] }[];
    expect(json.predicateType).toBe(TYPE);
    expect(json.attestations).toEqual([expect.objectContaining({ format, predicateType: TYPE, verified: true, identity: IDENTITY, issuer: OAUTH })]);
  });

  it('fails for another predicate type, naming what it found', async () => {
    const v = await verifyImageAttestations(await registryWith(layout, DIGEST, api), subjectFor(DIGEST), trust, policy, 'https://slsa.dev/provenance/v1');
    expect(v.ok).toBe(false);
    expect(v.reason).toBe(`no attestation of type https://slsa.dev/provenance/v1 found; 1 of other types: ${TYPE}`);
    expect(v.verdicts).toEqual([expect.objectContaining({ failure: 'predicate-type', predicateType: TYPE })]);
  });

  it('fails for another identity, a look-alike, another issuer', async () => {
    const reg = await registryWith(layout, DIGEST, api);
    for (const [p, failure] of [
      [{ exact: 'someone@example.com', issuer: OAUTH }, 'identity'],
      [{ exact: `${IDENTITY}.evil`, issuer: OAUTH }, 'identity'],
      [{ regexp: 'cody@soyland', issuer: OAUTH }, 'identity'],
      [{ exact: IDENTITY, issuer: 'https://token.actions.githubusercontent.com' }, 'issuer'],
    ] as const) {
      const v = await verifyImageAttestations(reg, subjectFor(DIGEST), trust, p, TYPE);
      expect(v).toMatchObject({ ok: false, verdicts: [expect.objectContaining({ failure })] });
    }
  });

  it('fails when copied onto another digest', async () => {
    const v = await verifyImageAttestations(await registryWith(layout, OTHER_DIGEST, api), subjectFor(OTHER_DIGEST), trust, policy, TYPE);
    expect(v).toMatchObject({ ok: false, verdicts: [expect.objectContaining({ failure: 'digest-claim' })] });
    expect(v.reason).toMatch(/about sha256:7321.*, not sha256:cccc|subject is/);
  });
});

describe('the .att layer checks what cosign checks', () => {
  const judge = (layer: typeof attLayer, blob = envelopeBytes) => verifyAttestationLayer(layer, blob, DIGEST, trust, policy, 'fixture', TYPE);

  it('passes whole, with a note that Kyverno needs the chain', () => {
    expect(judge(attLayer)).toMatchObject({ ok: true, note: expect.stringContaining('chain') });
  });

  it('an envelope re-serialized (same signature, other bytes) is not the one logged', () => {
    const other = Buffer.from(JSON.stringify({ payload: bundle.dsseEnvelope.payload, payloadType: bundle.dsseEnvelope.payloadType, signatures: bundle.dsseEnvelope.signatures }));
    expect(judge(attLayer, other)).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/another envelope/) });
  });

  it('a changed statement does not verify', () => {
    const statement = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replace('bar', 'baz');
    const changed = Buffer.from(envelopeBytes.toString('utf8').replace(bundle.dsseEnvelope.payload, Buffer.from(statement).toString('base64')));
    const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString('utf8'));
    expect(body.spec.envelopeHash.value).not.toBe(sha256(changed));
    expect(judge(attLayer, changed).ok).toBe(false);
  });

  it('a missing log proof or certificate is named', () => {
    const { 'dev.sigstore.cosign/bundle': _b, ...noBundle } = attLayer.annotations;
    expect(judge({ ...attLayer, annotations: noBundle as typeof attLayer.annotations })).toMatchObject({ ok: false, failure: 'log-proof' });
    const { 'dev.sigstore.cosign/certificate': _c, ...noCert } = attLayer.annotations;
    expect(judge({ ...attLayer, annotations: noCert as typeof attLayer.annotations })).toMatchObject({ ok: false, failure: 'malformed' });
  });
});

describe('GitHub Actions provenance in an older bundle (sigstore-js v0.1, intoto 0.0.2), as a referrer', () => {
  // sigstore-js's provenance of sigstore@1.3.0 (PROVENANCE.md): an npm package, so its subject digest is sha512.
  const provenance = read('sigstore-js-provenance.sigstore.json');
  const statement = JSON.parse(Buffer.from(provenance.dsseEnvelope.payload, 'base64').toString());
  const digest = `sha512:${statement.subject[0].digest.sha512}`;
  const ACTIONS = { exact: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };
  const SLSA02 = 'https://slsa.dev/provenance/v0.2';
  const registry = async () => {
    const reg = new MemoryRegistry(true);
    await pushReferrer(reg, subjectFor(digest), provenance, { annotations: { 'dev.sigstore.bundle.predicateType': SLSA02 } });
    return reg;
  };

  it('verifies as gh reads it, for its workflow and type, and says cosign 3 does not read it', async () => {
    const v = await verifyImageAttestations(await registry(), subjectFor(digest), trust, ACTIONS, SLSA02);
    expect(v).toMatchObject({ ok: true, reason: `verified (bundle, log entry 18300934): ${SLSA02} attestation by ${ACTIONS.exact}` });
    expect(v.cosign3).toMatch(/^cosign would reject it: the bundle is v0\.1; cosign 3 reads only v0\.3 bundles/);
    expect(v.notes.join()).toMatch(/gh attestation verify reads it/);
  });

  it('fails for another workflow, another type, another digest', async () => {
    const reg = await registry();
    expect(await verifyImageAttestations(reg, subjectFor(digest), trust, { ...ACTIONS, exact: ACTIONS.exact.replace('main', 'dev') }, SLSA02)).toMatchObject({ ok: false, verdicts: [expect.objectContaining({ failure: 'identity' })] });
    expect(await verifyImageAttestations(reg, subjectFor(digest), trust, ACTIONS, 'https://slsa.dev/provenance/v1')).toMatchObject({ ok: false, verdicts: [expect.objectContaining({ failure: 'predicate-type' })] });
    const elsewhere = new MemoryRegistry(true);
    await pushReferrer(elsewhere, subjectFor(OTHER_DIGEST), provenance);
    expect(await verifyImageAttestations(elsewhere, subjectFor(OTHER_DIGEST), trust, ACTIONS, SLSA02)).toMatchObject({ ok: false, verdicts: [expect.objectContaining({ failure: 'digest-claim' })] });
  });
});
