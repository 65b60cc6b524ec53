/**
 * `.sig` layers judged by the rules cosign applies to them, where
 * @sigstore/verify alone would conclude otherwise: the log entry must name the
 * signing certificate; the issuer cosign reads is extension .1 only; an RFC
 * 3161 annotation cosign does not read must not fail a layer; a `.sig` with
 * more than 1000 layers is refused whole. Signatures come from an in-memory
 * Sigstore (helpers/mini-sigstore.ts) and the real-world Ratify fixture.
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IdentityPolicy } from '../../src/config-types.js';
import type { LayerDescriptor } from '../../src/formats/legacy.js';
import { TimestampClient } from '../../src/transparency/tsa.js';
import type { Subject } from '../../src/subjects/resolve.js';
import { verifyImage } from '../../src/verify/mode.js';
import { verifyLegacyLayer, verifyLegacySignatures, type LegacyCheckOptions, type SignatureReader } from '../../src/verify/legacy.js';
import { trustFromJson, type Trust } from '../../src/verify/trust.js';
import { startTsa, type SandboxTsa } from '../../sandbox/sigstore/tsa.js';
import { OID_ISSUER_V1, OID_ISSUER_V2, startMiniSigstore, type LegacyLayer, type MiniSigstore } from '../helpers/mini-sigstore.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const policy: IdentityPolicy = { exact: IDENTITY, issuer: ISSUER };
const both = [
  { oid: OID_ISSUER_V1, value: ISSUER, legacy: true },
  { oid: OID_ISSUER_V2, value: ISSUER },
];

let mini: MiniSigstore;
let trust: Trust;
let tsa: SandboxTsa;
beforeAll(async () => {
  [mini, tsa] = await Promise.all([startMiniSigstore(), startTsa(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }))]);
  trust = trustFromJson(mini.trustedRoot, 'mini');
}, 30_000);
afterAll(() => tsa?.stop());

const judge = (s: LegacyLayer, opts: LegacyCheckOptions = {}) =>
  verifyLegacyLayer(s.layer as LayerDescriptor, s.payload, DIGEST, trust, policy, 'mini.example/app:sha256-a.sig', { requireChain: false, ...opts });

/** A reader holding one `.sig` for DIGEST with `layers`, and no referrers. */
function readerOf(layers: LegacyLayer[]): SignatureReader & { referrers: () => Promise<{ supported: true; manifests: [] }> } {
  return {
    getManifest: async (_r, ref) => (ref.endsWith('.sig') ? { body: Buffer.from(''), json: { layers: layers.map((l) => l.layer) } } : undefined),
    getBlob: async (_r, digest) => layers.find((l) => l.layer.digest === digest)!.payload,
    referrers: async () => ({ supported: true, manifests: [] }),
  };
}
const subject: Subject = {
  repo: { registry: 'mini.example', repository: 'app' },
  digest: DIGEST,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1,
  dockerReference: 'mini.example/app',
  names: [],
};

describe('a layer made as Fulcio and Rekor make them', () => {
  it('verifies, with no note and nothing cosign would reject', async () => {
    const verdict = judge(await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: both }));
    expect(verdict).toMatchObject({ ok: true, identity: IDENTITY, issuer: ISSUER });
    expect(verdict.note).toBeUndefined();
    expect(verdict.cosignRejects).toBeUndefined();
  });
});

describe('the log entry must name the signing certificate (cosign comparePublicKey, sigstore-go CompareKey)', () => {
  it('fails a layer whose log entry holds the bare public key', async () => {
    expect(judge(await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: both, logSigner: 'key' }))).toMatchObject({
      ok: false,
      failure: 'log-proof',
      reason: expect.stringMatching(/names a bare public key, not the signing certificate/),
    });
  });

  it('fails a layer whose log entry holds another certificate, for the same key or another', async () => {
    const keyPair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sameKey = await mini.issue(keyPair.publicKey.export({ format: 'der', type: 'spki' }), 'https://github.com/evil/x/.github/workflows/a.yml@refs/heads/main', both);
    const relogged = await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: both, keyPair, logSigner: sameKey });
    expect(relogged.certificatePem).not.toBe(sameKey);
    expect(judge(relogged)).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/names another certificate for the same key, not the signature's certificate/) });
    const otherKey = await mini.issue(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }), IDENTITY, both);
    const foreign = await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: both, logSigner: otherKey });
    expect(judge(foreign)).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/names the certificate of another key/) });
  });
});

describe("cosign's .sig path reads the issuer from extension .1 only (certextensions.go GetIssuer)", () => {
  it('passes a certificate with the issuer only in .8 here, noting that cosign and Kyverno `type: Cosign` reject it', async () => {
    const verdict = judge(await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: [{ oid: OID_ISSUER_V2, value: ISSUER }] }));
    expect(verdict).toMatchObject({ ok: true, issuer: ISSUER });
    expect(verdict.cosignRejects).toMatch(/no issuer in extension 1\.3\.6\.1\.4\.1\.57264\.1\.1 \(only in \.8\)/);
    expect(verdict.note).toContain(verdict.cosignRejects);
  });

  it('notes a .1 that names another issuer than .8', async () => {
    const extensions = [{ oid: OID_ISSUER_V1, value: 'https://accounts.google.com', legacy: true }, { oid: OID_ISSUER_V2, value: ISSUER }];
    expect(judge(await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions })).cosignRejects).toMatch(/names the issuer https:\/\/accounts\.google\.com, not https:\/\/token/);
  });

  it("makes verify mode say cosign 3 would reject the image when that .sig is all there is", async () => {
    const only8 = await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: [{ oid: OID_ISSUER_V2, value: ISSUER }] });
    const result = await verifyImage(readerOf([only8]), subject, trust, policy);
    expect(result.ok).toBe(true);
    expect(result.cosign3).toMatch(/^cosign 3 would reject it: no bundle referrer exists, so it reads the \.sig, and the certificate has no issuer in extension 1\.3\.6\.1\.4\.1\.57264\.1\.1/);
    expect(result.notes.join('\n')).toMatch(/Kyverno `type: Cosign` read the issuer only from extension 1\.3\.6\.1\.4\.1\.57264\.1\.1/);
    const fine = await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: both });
    expect((await verifyImage(readerOf([only8, fine]), subject, trust, policy)).cosign3).toBeUndefined();
  });
});

describe('an RFC 3161 annotation from a timestamp authority outside the trusted root', () => {
  async function timestamped(): Promise<LegacyLayer> {
    const made = await mini.signLegacy(DIGEST, { identity: IDENTITY, extensions: both });
    const signature = Buffer.from(made.layer.annotations['dev.cosignproject.cosign/signature'], 'base64');
    const ts = await new TimestampClient(`${tsa.url}/api/v1/timestamp`).timestamp(signature);
    const annotations = { ...made.layer.annotations, 'dev.sigstore.cosign/rfc3161timestamp': JSON.stringify({ SignedRFC3161Timestamp: ts.response.toString('base64') }) };
    return { payload: made.payload, layer: { ...made.layer, annotations } };
  }

  it('does not fail verify mode (cosign ignores it without --use-signed-timestamps): judged by the log entry, with a note', async () => {
    const verdict = judge(await timestamped(), { tolerateTimestamp: true });
    expect(verdict).toMatchObject({ ok: true, identity: IDENTITY });
    expect(verdict.note).toMatch(/its RFC 3161 timestamp annotation does not verify against the trusted root .*cosign ignores that annotation unless --use-signed-timestamps/);
  });

  it('still fails the strict check the self-check runs', async () => {
    expect(judge(await timestamped())).toMatchObject({ ok: false });
  });

  it('is used by verify mode', async () => {
    expect(await verifyImage(readerOf([await timestamped()]), subject, trust, policy)).toMatchObject({ ok: true, notes: [expect.stringMatching(/RFC 3161 timestamp annotation/)] });
  });
});

describe('a .sig with more than 1000 layers (cosign signatures.go Get: refused whole)', () => {
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/real-world/ratify-keyless-legacy.json', import.meta.url), 'utf8'));
  const publicGood = trustFromJson(JSON.parse(readFileSync(new URL('../fixtures/real-world/public-good-trusted-root.json', import.meta.url), 'utf8')), 'fixture');
  const real = { layer: fixture.layer, payload: Buffer.from(fixture.payload) };
  const filler = Array.from({ length: 1000 }, (_, i) => ({ mediaType: 'application/vnd.example.other', digest: `sha256:${i.toString(16).padStart(64, '0')}`, size: 1 }));
  const readerWith = (extra: object[]): SignatureReader => ({
    getManifest: async () => ({ body: Buffer.from(''), json: { layers: [real.layer, ...extra] } }),
    getBlob: async () => real.payload,
  });
  const check = (extra: object[]) =>
    verifyLegacySignatures(readerWith(extra), { registry: 'r.example', repository: 'x' }, fixture.image.digest, publicGood, { exact: fixture.identity, issuer: fixture.issuer }, { requireChain: false });

  it('fails every signature in it, counting layers of any media type, and says each would verify otherwise', async () => {
    const verdicts = await check(filler);
    expect(verdicts).toEqual([
      expect.objectContaining({ ok: false, failure: 'malformed', reason: expect.stringMatching(/^cosign rejects this \.sig: it has 1001 layers, more than the 1000 cosign reads.*\(this one verifies otherwise\)$/) }),
    ]);
  });

  it('verifies the same signature when the .sig has 1000 layers', async () => {
    expect(await check(filler.slice(1))).toEqual([expect.objectContaining({ ok: true })]);
  });
});
