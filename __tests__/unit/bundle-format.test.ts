/**
 * The bytes of the bundle format against formats.md and cosign 3's source
 * (cmd/cosign/cli/sign/sign.go signDigestBundle; pkg/oci/remote WriteReferrer):
 * expected values are written out here, not derived from the code under test.
 */
import 'reflect-metadata';
import crypto, { type webcrypto } from 'node:crypto';
import { dsse } from '@sigstore/core';
import * as x509 from '@peculiar/x509';
import {
  dsseBundle,
  dsseEnvelope,
  dsseProposal,
  EMPTY_CONFIG,
  preAuthEncoding,
  referrerAnnotations,
  referrerDescriptor,
  referrerManifest,
  referrersTag,
  signStatement,
  statementClaims,
} from '../../src/formats/bundle.js';
import type { RekorEntry } from '../../src/transparency/rekor.js';
import type { BundleJson } from '../helpers/bundle-checks.js';
import { canonicalizeV1 } from '../../sandbox/sigstore/rekor-v1-entries.js';

const HEX = 'a'.repeat(60) + '0123';
const DIGEST = `sha256:${HEX}`;
const sha256 = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');

describe('the signed statement', () => {
  it('is cosign 3 protojson: proto field order, no subject name, empty annotations kept', () => {
    expect(signStatement(DIGEST).toString()).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${HEX}"},"annotations":{}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
    );
  });

  it('carries annotations sorted by key, values as strings, <>& unescaped like protojson', () => {
    const text = signStatement(DIGEST, { team: 'core', env: 'a<b>&c' }).toString();
    expect(text).toContain(`"annotations":{"env":"a<b>&c","team":"core"}`);
    expect(JSON.parse(text).subject[0].annotations).toEqual({ env: 'a<b>&c', team: 'core' });
  });

  it('is read back by statementClaims, and a non-statement is not', () => {
    expect(statementClaims(signStatement(DIGEST))).toEqual({
      type: 'https://in-toto.io/Statement/v1',
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      subjectDigests: [DIGEST],
    });
    expect(statementClaims(Buffer.from('{"critical":{}}'))).toBeUndefined();
    expect(statementClaims(Buffer.from('not json'))).toBeUndefined();
  });

  it('keeps subject digests as written: cosign compares "sha256:" + hex with the image digest as a string', () => {
    const upper = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: 'ABCDEF01' } }], predicateType: 'x' }));
    expect(statementClaims(upper)?.subjectDigests).toEqual(['sha256:ABCDEF01']);
  });
});

describe('DSSE', () => {
  it('PAE is "DSSEv1 <len> <type> <len> <payload>" with byte lengths', () => {
    expect(preAuthEncoding('application/vnd.in-toto+json', Buffer.from('{}')).toString()).toBe('DSSEv1 28 application/vnd.in-toto+json 2 {}');
    const payload = Buffer.from('é≈{"x":1}');
    expect(preAuthEncoding('t/ü', payload).equals(dsse.preAuthEncoding('t/ü', payload))).toBe(true);
    expect(preAuthEncoding('t/ü', payload).toString()).toBe(`DSSEv1 4 t/ü ${payload.length} é≈{"x":1}`);
  });

  it('a proposal Rekor accepts: dsse 0.0.1 whose signature checks over PAE with the certificate', async () => {
    const keys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const webKeys = {
      privateKey: await crypto.webcrypto.subtle.importKey('pkcs8', keys.privateKey.export({ format: 'der', type: 'pkcs8' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']),
      publicKey: await crypto.webcrypto.subtle.importKey('spki', keys.publicKey.export({ format: 'der', type: 'spki' }), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']),
    };
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      { name: 'CN=test', keys: webKeys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 600_000) },
      crypto.webcrypto,
    );
    const statement = signStatement(DIGEST);
    const sig = crypto.sign('sha256', preAuthEncoding('application/vnd.in-toto+json', statement), keys.privateKey);
    const envelope = dsseEnvelope(statement, sig);
    expect(envelope).toEqual({ payload: statement.toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: sig.toString('base64') }] });
    const proposal = dsseProposal(envelope, cert.toString('pem')) as { spec: { proposedContent: { envelope: string; verifiers: string[] } } };
    expect(proposal).toMatchObject({ apiVersion: '0.0.1', kind: 'dsse' });
    expect(JSON.parse(proposal.spec.proposedContent.envelope)).toEqual(envelope);
    expect(Buffer.from(proposal.spec.proposedContent.verifiers[0], 'base64').toString()).toContain('BEGIN CERTIFICATE');

    const body = JSON.parse(canonicalizeV1(proposal).toString());
    expect(body.spec.payloadHash).toEqual({ algorithm: 'sha256', value: sha256(statement) });
    expect(body.spec.envelopeHash).toEqual({ algorithm: 'sha256', value: sha256(proposal.spec.proposedContent.envelope) });
    // A signature over the bare payload (not PAE) is refused by the log.
    const wrong = dsseEnvelope(statement, crypto.sign('sha256', statement, keys.privateKey));
    expect(() => canonicalizeV1(dsseProposal(wrong, cert.toString('pem')))).toThrow(/verify envelope/);
  });
});

describe('the referrer manifest and its descriptor', () => {
  const subject = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: DIGEST, size: 1234 };
  const layer = { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', digest: `sha256:${'b'.repeat(64)}`, size: 4321 };
  const created = new Date('2026-03-04T05:06:07.891Z');

  it('uses the OCI empty descriptor of the image spec', () => {
    expect(EMPTY_CONFIG).toEqual({ mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 });
  });

  it('annotations: content, predicate type, RFC 3339 UTC creation time without fractions', () => {
    expect(referrerAnnotations(created)).toEqual({
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
      'org.opencontainers.image.created': '2026-03-04T05:06:07Z',
    });
  });

  it('is an OCI image manifest with artifactType, empty config, one bundle layer and the subject as the registry gave it', () => {
    const bytes = referrerManifest(subject, layer, referrerAnnotations(created));
    expect(JSON.parse(bytes.toString())).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
      layers: [layer],
      subject,
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
        'org.opencontainers.image.created': '2026-03-04T05:06:07Z',
      },
    });
    expect(bytes.toString()).not.toMatch(/\s/);
  });

  it('descriptor: digest and size of the exact bytes, artifactType and annotations for the fallback index', () => {
    const annotations = referrerAnnotations(created);
    const bytes = referrerManifest(subject, layer, annotations);
    expect(referrerDescriptor(bytes, annotations)).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${sha256(bytes)}`,
      size: bytes.length,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      annotations,
    });
  });

  it('the referrers tag schema: sha256-<hex>, no .sig', () => {
    expect(referrersTag(DIGEST)).toBe(`sha256-${HEX}`);
  });
});

describe('the bundle', () => {
  const entry: RekorEntry = {
    uuid: 'u',
    logIndex: 7,
    logId: 'ab'.repeat(32),
    integratedTime: 1_700_000_000,
    body: Buffer.from('{"kind":"dsse"}').toString('base64'),
    signedEntryTimestamp: 'U0VU',
    inclusionProof: { logIndex: 7, rootHash: 'cd'.repeat(32), treeSize: 8, hashes: ['ef'.repeat(32)], checkpoint: 'cp\n' },
    kind: 'dsse',
    apiVersion: '0.0.1',
  };
  it('is v0.3 with the leaf certificate, the entry with proof and promise, and the envelope', async () => {
    const envelope = dsseEnvelope(Buffer.from('{}'), Buffer.from('sig'));
    const bundle = dsseBundle({ envelope, certificatePem: await realCertPem(), rekor: entry }) as unknown as BundleJson;
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(Object.keys(bundle.verificationMaterial)).toEqual(['certificate', 'tlogEntries']);
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    const tlog = bundle.verificationMaterial.tlogEntries[0];
    expect(tlog).toMatchObject({ logIndex: '7', kindVersion: { kind: 'dsse', version: '0.0.1' }, integratedTime: '1700000000', inclusionPromise: { signedEntryTimestamp: 'U0VU' } });
    expect(tlog.logId.keyId).toBe(Buffer.from('ab'.repeat(32), 'hex').toString('base64'));
    expect(tlog.inclusionProof).toMatchObject({ logIndex: '7', treeSize: '8', checkpoint: { envelope: 'cp\n' } });
    expect(bundle.dsseEnvelope).toEqual(envelope);
    expect(bundle).not.toHaveProperty('messageSignature');
  });

  it('carries RFC 3161 timestamps only when given', async () => {
    const envelope = dsseEnvelope(Buffer.from('{}'), Buffer.from('sig'));
    const bundle = dsseBundle({ envelope, certificatePem: await realCertPem(), rekor: entry, rfc3161Timestamps: [Buffer.from([1, 2, 3])] }) as unknown as BundleJson;
    expect(bundle.verificationMaterial.timestampVerificationData).toEqual({ rfc3161Timestamps: [{ signedTimestamp: 'AQID' }] });
  });

  it('refuses an entry without inclusion proof', async () => {
    const envelope = dsseEnvelope(Buffer.from('{}'), Buffer.from('sig'));
    expect(() => dsseBundle({ envelope, certificatePem: 'never parsed', rekor: { ...entry, inclusionProof: undefined } })).toThrow(/inclusion proof/);
  });
});

async function realCertPem(): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = (await crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=t', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } }, crypto.webcrypto);
  return cert.toString('pem');
}
