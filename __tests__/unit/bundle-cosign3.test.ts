/**
 * Bundle referrers judged as cosign 3 judges them (pkg/cosign/verify.go
 * GetBundles and verifyImageAttestationsSigstoreBundle, pkg/oci/remote
 * signatures.go Bundle), against the sandbox's real Fulcio and Rekor and an
 * in-memory registry: which referrers count as bundles (any artifactType, one
 * bundle layer, v0.3), that any verified DSSE bundle passes whatever its
 * predicate, that statement digests compare exactly, and that the log entry
 * must name the signing certificate. Our own verdict stays stricter
 * (signatures only) and says where cosign 3 concludes otherwise.
 */
import fs from 'node:fs';
import type { SerializedBundle } from '@sigstore/bundle';
import type { SandboxSigstore } from '../../sandbox/sigstore/index.js';
import { startSigningFixture, type SigningFixture } from '../helpers/signing-fixture.js';
import { dsseBundle, dsseEnvelope, dsseProposal, INTOTO_PAYLOAD_TYPE, preAuthEncoding, signStatement } from '../../src/formats/bundle.js';
import type { EphemeralSigner } from '../../src/identity/certificate.js';
import type { RegistryClient } from '../../src/registry/client.js';
import { signLegacy } from '../../src/sign/legacy.js';
import type { Subject } from '../../src/subjects/resolve.js';
import { RekorClient } from '../../src/transparency/rekor.js';
import { readBundleReferrers } from '../../src/verify/bundle.js';
import { verifyImage } from '../../src/verify/mode.js';
import type { Trust } from '../../src/verify/trust.js';
import { MemoryRegistry, memoryImage, memoryRepo, pushReferrer } from '../helpers/memory-registry.js';

const SLSA = 'https://slsa.dev/provenance/v1';
const SIGN = 'https://sigstore.dev/cosign/sign/v1';

let fixture: SigningFixture;
let sigstore: SandboxSigstore;
let signer: EphemeralSigner;
let trust: Trust;
let bundleDir: string;

beforeAll(async () => {
  fixture = await startSigningFixture('bundle-cosign3');
  ({ sigstore, signer, trust, bundleDir } = fixture);
}, 60_000);
afterAll(() => fixture?.stop());

const policy = async () => {
  const cert = await signer.certificate();
  return { exact: cert.identity, issuer: cert.issuer };
};

/** An in-toto statement about `digest` (its hex as given) with `predicateType`. */
const statement = (digest: string, predicateType: string): Buffer =>
  Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: digest.split(':')[1] } }], predicateType, predicate: {} }));

/** A v0.3 DSSE bundle over `payload`, signed and logged in the sandbox; `logSigner` is what the log entry names. */
async function dsse(payload: Buffer, logSigner?: string): Promise<SerializedBundle> {
  const cert = await signer.certificate();
  const envelope = dsseEnvelope(payload, signer.sign(preAuthEncoding(INTOTO_PAYLOAD_TYPE, payload)));
  const entry = await new RekorClient(sigstore.rekorUrl).createEntry(dsseProposal(envelope, logSigner ?? cert.leafPem));
  return dsseBundle({ envelope, certificatePem: cert.leafPem, rekor: entry });
}

/** A legacy `.sig` by the run's identity, in `reg`; returns the v0.3 message-signature bundle signLegacy wrote. */
async function legacy(reg: MemoryRegistry, subject: Subject): Promise<object> {
  const ctx = { signer, rekor: new RekorClient(sigstore.rekorUrl), registry: reg as unknown as RegistryClient, annotations: {}, bundleDir, instance: 'custom' as const };
  const record = await signLegacy(subject, ctx);
  return JSON.parse(fs.readFileSync(record.bundlePath, 'utf8'));
}

const attestationAnnotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': SLSA };

describe('an attestation bundle by the right identity (cosign 3 checks identity and digest, not the predicate)', () => {
  it('passes cosign 3 while the image has no signature here, and the verdict says so', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await memoryImage(reg, 'attested');
    const reference = await pushReferrer(reg, subject, await dsse(statement(subject.digest, SLSA)), { annotations: attestationAnnotations });
    const findings = await readBundleReferrers(reg, memoryRepo, subject.digest, trust, await policy());
    expect(findings.verdicts).toEqual([]);
    expect(findings.cosign3).toEqual([expect.objectContaining({ ok: true, reference, predicateType: SLSA })]);
    const result = await verifyImage(reg, subject, trust, await policy());
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/^no signatures found/) });
    expect(result.cosign3).toMatch(new RegExp(`^cosign 3 would accept this image on an attestation bundle by this identity \\(predicate ${SLSA.replace(/[./]/g, '\\$&')}, .*but it has no signature`));
  });

  it('beside a .sig that verifies, agrees with cosign 3 (no warning that it would reject)', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await memoryImage(reg, 'attested-and-signed');
    await legacy(reg, subject);
    await pushReferrer(reg, subject, await dsse(statement(subject.digest, SLSA)), { annotations: attestationAnnotations });
    const result = await verifyImage(reg, subject, trust, await policy());
    expect(result.ok).toBe(true);
    expect(result.cosign3).toBeUndefined();
  });

  it('that names another digest fails cosign 3 too: then a passing .sig is not enough for it', async () => {
    const reg = new MemoryRegistry(true);
    const subject = await memoryImage(reg, 'attested-other');
    await legacy(reg, subject);
    await pushReferrer(reg, subject, await dsse(statement(`sha256:${'c'.repeat(64)}`, SLSA)), { annotations: attestationAnnotations });
    const result = await verifyImage(reg, subject, trust, await policy());
    expect(result.ok).toBe(true);
    expect(result.cosign3).toMatch(/cosign 3 (?:\(and cosign 2\.6\.3 or later\) )?would reject it: .*the signed statement is about sha256:c{64}, not/);
  });
});

describe('which referrers cosign 3 counts as bundles (signatures.go Bundle)', () => {
  it('any artifactType with one bundle layer, a message-signature bundle too: cosign 3 then fails on it and ignores the .sig', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await memoryImage(reg, 'message-bundle');
    const messageBundle = await legacy(reg, subject);
    expect(messageBundle).toMatchObject({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', messageSignature: expect.anything() });
    await pushReferrer(reg, subject, messageBundle, { artifactType: 'application/vnd.example.build-record' });
    const result = await verifyImage(reg, subject, trust, await policy());
    expect(result.ok).toBe(true);
    expect(result.verdicts.map((v) => v.format)).toEqual(['legacy']);
    expect(result.cosign3).toMatch(/^cosign 3 \(and cosign 2.6.3 or later\) would reject it: a Sigstore bundle referrer exists .*no DSSE envelope/);
  });

  it('not a referrer with two layers, nor a v0.1 bundle: ours fail them, and cosign 3 still reads the .sig', async () => {
    const reg = new MemoryRegistry(false);
    const subject = await memoryImage(reg, 'unreadable-bundles');
    await legacy(reg, subject);
    const sign = await dsse(signStatement(subject.digest));
    await pushReferrer(reg, subject, sign, { extraLayers: [Buffer.from('{}')] });
    await pushReferrer(reg, subject, { ...sign, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1' });
    const result = await verifyImage(reg, subject, trust, await policy());
    const bundles = result.verdicts.filter((v) => v.format === 'bundle');
    expect(bundles).toEqual([
      expect.objectContaining({ ok: false, failure: 'malformed', reason: expect.stringMatching(/has 2 layers; cosign 3 reads a bundle only from a referrer with exactly one/) }),
      expect.objectContaining({ ok: false, failure: 'malformed', reason: expect.stringMatching(/the bundle is v0\.1; cosign 3 reads only v0\.3 bundles/) }),
    ]);
    expect(result.ok).toBe(true); // on the .sig
    expect(result.cosign3).toBeUndefined();
  });
});

describe('the statement digest compares exactly ("sha256:" + hex, IntotoSubjectClaimVerifier)', () => {
  it('fails a signature whose statement writes the digest in upper case, for us and cosign 3', async () => {
    const reg = new MemoryRegistry(true);
    const subject = await memoryImage(reg, 'upper');
    const upper = `sha256:${subject.digest.split(':')[1].toUpperCase()}`;
    await pushReferrer(reg, subject, await dsse(statement(upper, SIGN)));
    const findings = await readBundleReferrers(reg, memoryRepo, subject.digest, trust, await policy());
    expect(findings.verdicts).toEqual([expect.objectContaining({ ok: false, failure: 'digest-claim', reason: expect.stringContaining(`about ${upper}, not ${subject.digest}`) })]);
    expect(findings.cosign3.map((v) => v.ok)).toEqual([false]);
  });
});

describe('the log entry must name the signing certificate (sigstore-go CompareKey)', () => {
  it('fails a bundle whose dsse entry names the bare key', async () => {
    const reg = new MemoryRegistry(true);
    const subject = await memoryImage(reg, 'bare-key');
    await pushReferrer(reg, subject, await dsse(signStatement(subject.digest), signer.publicKeyPem));
    const [verdict] = (await readBundleReferrers(reg, memoryRepo, subject.digest, trust, await policy())).verdicts;
    expect(verdict).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/names a bare public key, not the signing certificate/) });
  });
});
