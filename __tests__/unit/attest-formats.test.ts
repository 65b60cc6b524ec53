/**
 * The bytes of both attestation layouts against ../shared/docs/attestations.md
 * (§1.3–1.5 the `.att` layer and its annotations, §2.2 the referrer manifest
 * as actions/attest writes it, §1.5/§2.2 the in-toto statement), restated
 * here rather than taken from the code under test.
 */
import crypto from 'node:crypto';
import { attestationLayer, attestationStatement, envelopeSizeFor } from '../../src/formats/att.js';
import { attestationReferrerAnnotations } from '../../src/formats/attestation-bundle.js';
import { attestationTag } from '../../src/formats/attestation-constants.js';
import { dsseEnvelope, preAuthEncoding, referrerDescriptor, referrerManifest } from '../../src/formats/bundle.js';
import type { RekorEntry } from '../../src/transparency/rekor.js';
import { predicateSlug } from '../../src/attest/sign.js';

const HEX = 'ab'.repeat(32);
const DIGEST = `sha256:${HEX}`;
const sha256 = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');
const entry: RekorEntry = {
  uuid: 'u',
  logIndex: 7,
  logId: 'cd'.repeat(32),
  integratedTime: 1700000000,
  body: Buffer.from('{"apiVersion":"0.0.1","kind":"dsse","spec":{}}').toString('base64'),
  signedEntryTimestamp: 'U0VU',
  kind: 'dsse',
  apiVersion: '0.0.1',
};

describe('the in-toto statement', () => {
  it('is Statement v1 about the repository and digest, keys in actions/attest order', () => {
    const s = attestationStatement({ name: 'ghcr.io/acme/app', digest: DIGEST }, 'https://spdx.dev/Document', { spdxVersion: 'SPDX-2.3' });
    expect(s.toString()).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"ghcr.io/acme/app","digest":{"sha256":"${HEX}"}}],` +
        '"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}',
    );
  });

  it('is signed as DSSE PAE over the in-toto payload type', () => {
    const s = Buffer.from('{}');
    expect(preAuthEncoding('application/vnd.in-toto+json', s).toString()).toBe('DSSEv1 28 application/vnd.in-toto+json 2 {}');
  });

  it('gives an envelope size estimate that bounds the real envelope', () => {
    const statement = Buffer.alloc(100_000, 'a');
    const real = Buffer.byteLength(JSON.stringify(dsseEnvelope(statement, crypto.randomBytes(72))));
    expect(envelopeSizeFor(statement.length)).toBeGreaterThanOrEqual(real);
    expect(envelopeSizeFor(statement.length)).toBeLessThan(real + 400);
  });
});

describe('the legacy .att layer (cosign 2 attest)', () => {
  const envelope = Buffer.from(JSON.stringify(dsseEnvelope(Buffer.from('{"_type":"x"}'), Buffer.from('sig'))));
  const layer = attestationLayer({
    envelope,
    predicateType: 'https://slsa.dev/provenance/v1',
    certificatePem: 'LEAF',
    chainPems: ['INTERMEDIATE\n', 'ROOT\n'],
    rekor: entry,
  });

  it('is tagged sha256-<hex>.att', () => {
    expect(attestationTag(DIGEST)).toBe(`sha256-${HEX}.att`);
  });

  it('holds the envelope as its blob, media type application/vnd.dsse.envelope.v1+json', () => {
    expect(layer).toMatchObject({ mediaType: 'application/vnd.dsse.envelope.v1+json', size: envelope.length, digest: `sha256:${sha256(envelope)}` });
  });

  it('carries cosign 2 annotations, sorted as Go writes them, with an empty signature annotation', () => {
    expect(Object.keys(layer.annotations ?? {})).toEqual([
      'dev.cosignproject.cosign/signature',
      'dev.sigstore.cosign/bundle',
      'dev.sigstore.cosign/certificate',
      'dev.sigstore.cosign/chain',
      'predicateType',
    ]);
    expect(layer.annotations).toMatchObject({
      'dev.cosignproject.cosign/signature': '',
      'dev.sigstore.cosign/certificate': 'LEAF',
      'dev.sigstore.cosign/chain': 'INTERMEDIATE\nROOT\n',
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    expect(layer.annotations?.['dev.sigstore.cosign/bundle']).toBe(
      `{"SignedEntryTimestamp":"U0VU","Payload":{"body":"${entry.body}","integratedTime":1700000000,"logIndex":7,"logID":"${'cd'.repeat(32)}"}}`,
    );
  });

  it('adds the RFC 3161 annotation when timestamped, and refuses to go without the chain', () => {
    const stamped = attestationLayer({ envelope, predicateType: 't:x', certificatePem: 'L', chainPems: ['C\n'], rekor: entry, rfc3161TimestampB64: 'VFM=' });
    expect(stamped.annotations?.['dev.sigstore.cosign/rfc3161timestamp']).toBe('{"SignedRFC3161Timestamp":"VFM="}');
    expect(Object.keys(stamped.annotations ?? {}).at(-1)).toBe('predicateType');
    expect(() => attestationLayer({ envelope, predicateType: 't:x', certificatePem: 'L', chainPems: [], rekor: entry })).toThrow(/chain/);
  });
});

describe('the bundle referrer (actions/attest push-to-registry)', () => {
  const created = new Date('2026-12-06T10:11:12.345Z');
  const annotations = attestationReferrerAnnotations(created, 'https://slsa.dev/provenance/v1');
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 1234 };
  const layer = { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', digest: `sha256:${'ef'.repeat(32)}`, size: 4321 };

  it('is an OCI manifest with the bundle artifact type, the empty config, one bundle layer, the subject and the predicate annotations', () => {
    expect(referrerManifest(subject, layer, annotations).toString()).toBe(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
        '"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",' +
        '"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},' +
        `"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"sha256:${'ef'.repeat(32)}","size":4321}],` +
        `"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${DIGEST}","size":1234},` +
        '"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://slsa.dev/provenance/v1",' +
        '"org.opencontainers.image.created":"2026-12-06T10:11:12Z"}}',
    );
  });

  it('is listed with its artifact type and annotations (what gh and Kyverno filter on)', () => {
    const manifest = referrerManifest(subject, layer, annotations);
    expect(referrerDescriptor(manifest, annotations)).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${sha256(manifest)}`,
      size: manifest.length,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      annotations,
    });
  });

  it('names bundle files after the predicate type', () => {
    expect(predicateSlug('https://slsa.dev/provenance/v1')).toBe('slsa.dev-provenance-v1');
    expect(predicateSlug('https://spdx.dev/Document')).toBe('spdx.dev-Document');
  });
});
