/**
 * `.att` layers as cosign writes them, from an in-memory Sigstore
 * (../helpers/mini-sigstore.ts), for both log entry kinds cosign has used for
 * attestations: `dsse` 0.0.1 (cosign 2.2 and later) and `intoto` 0.0.1 (cosign
 * before 2.2, and `--rekor-entry-type intoto`), which @sigstore/verify cannot
 * match by itself. Each verifies for its identity, issuer, digest and type, and
 * fails when its envelope, statement, signer or identity is not the one logged.
 */
import crypto from 'node:crypto';
import type { IdentityPolicy } from '../../src/config-types.js';
import type { LayerDescriptor } from '../../src/formats/legacy.js';
import { verifyAttestationLayer } from '../../src/verify/attestation-legacy.js';
import { trustFromJson, type Trust } from '../../src/verify/trust.js';
import { OID_ISSUER_V1, OID_ISSUER_V2, startMiniSigstore, type LegacyLayer, type MiniSigstore } from '../helpers/mini-sigstore.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const SLSA1 = 'https://slsa.dev/provenance/v1';
const policy: IdentityPolicy = { exact: IDENTITY, issuer: ISSUER };
const extensions = [
  { oid: OID_ISSUER_V1, value: ISSUER, legacy: true },
  { oid: OID_ISSUER_V2, value: ISSUER },
];

let mini: MiniSigstore;
let trust: Trust;
beforeAll(async () => {
  mini = await startMiniSigstore();
  trust = trustFromJson(mini.trustedRoot, 'mini');
}, 30_000);

const judge = (a: LegacyLayer, opts: { digest?: string; type?: string; policy?: IdentityPolicy; blob?: Buffer } = {}) =>
  verifyAttestationLayer(a.layer as LayerDescriptor, opts.blob ?? a.payload, opts.digest ?? DIGEST, trust, opts.policy ?? policy, 'mini.example/app:sha256-a.att', opts.type ?? SLSA1);

/** The envelope with its signature kept and its statement changed (the log entry then names another statement). */
function tampered(envelope: Buffer): Buffer {
  const e = JSON.parse(envelope.toString());
  const statement = JSON.parse(Buffer.from(e.payload, 'base64').toString());
  statement.predicate = { injected: true };
  return Buffer.from(JSON.stringify({ ...e, payload: Buffer.from(JSON.stringify(statement)).toString('base64') }));
}

describe.each(['dsse', 'intoto'] as const)('a cosign .att layer logged as %s 0.0.1', (kind) => {
  let att: LegacyLayer;
  beforeAll(async () => {
    att = await mini.attestLegacy(DIGEST, { identity: IDENTITY, extensions, predicateType: SLSA1, kind });
  });

  it('verifies for its identity, issuer, digest and type', () => {
    expect(judge(att)).toMatchObject({ ok: true, identity: IDENTITY, issuer: ISSUER, predicateType: SLSA1 });
    expect(judge(att).note).toBeUndefined();
  });

  it('fails for another identity, issuer, type or digest', () => {
    expect(judge(att, { policy: { exact: `${IDENTITY}x`, issuer: ISSUER } })).toMatchObject({ ok: false, failure: 'identity' });
    expect(judge(att, { policy: { exact: IDENTITY, issuer: 'https://accounts.google.com' } })).toMatchObject({ ok: false, failure: 'issuer' });
    expect(judge(att, { type: 'https://spdx.dev/Document' })).toMatchObject({ ok: false, failure: 'predicate-type', predicateType: SLSA1 });
    expect(judge(att, { digest: `sha256:${'b'.repeat(64)}` })).toMatchObject({ ok: false, failure: 'digest-claim' });
  });

  it('fails when the envelope is not the one logged', () => {
    expect(judge(att, { blob: tampered(att.payload) })).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/another envelope/) });
  });

  it('fails when the log proof is for another entry', () => {
    const bundle = JSON.parse(att.layer.annotations['dev.sigstore.cosign/bundle']);
    bundle.Payload.logIndex += 1;
    const layer = { ...att.layer, annotations: { ...att.layer.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(bundle) } };
    expect(judge({ layer, payload: att.payload })).toMatchObject({ ok: false, failure: 'log-proof' });
  });

  it('fails when the certificate is another one than the log names', async () => {
    const other = await mini.attestLegacy(DIGEST, { identity: IDENTITY, extensions, predicateType: SLSA1, kind });
    const layer = { ...att.layer, annotations: { ...att.layer.annotations, 'dev.sigstore.cosign/certificate': other.layer.annotations['dev.sigstore.cosign/certificate'] } };
    expect(judge({ layer, payload: att.payload }).ok).toBe(false);
  });
});

describe('intoto 0.0.1: what @sigstore/verify leaves to us, checked', () => {
  const make = (opts: { editBody?: (b: { spec: Record<string, unknown> }) => void; wrongSignature?: boolean }) =>
    mini.attestLegacy(DIGEST, { identity: IDENTITY, extensions, predicateType: SLSA1, kind: 'intoto', ...opts });

  it('a logged payload hash of another statement', async () => {
    const att = await make({ editBody: (b) => ((b.spec.content as { payloadHash: { value: string } }).payloadHash.value = crypto.createHash('sha256').update('other').digest('hex')) });
    expect(judge(att)).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/another statement/) });
  });

  it('a logged signer that is not the certificate', async () => {
    const other = await make({});
    const otherCert = Buffer.from(other.layer.annotations['dev.sigstore.cosign/certificate']).toString('base64');
    const att = await make({ editBody: (b) => (b.spec.publicKey = otherCert) });
    expect(judge(att)).toMatchObject({ ok: false, failure: 'log-proof', reason: expect.stringMatching(/names the certificate of another key/) });
  });

  it('a signature that does not match the statement', async () => {
    expect(judge(await make({ wrongSignature: true }))).toMatchObject({ ok: false, failure: 'signature' });
  });
});
