import {
  goJson,
  rekorBundleAnnotation,
  signatureConfig,
  signatureLayer,
  signatureManifest,
  signatureTag,
  simpleSigningPayload,
} from '../../src/formats/legacy.js';
import type { RekorEntry } from '../../src/transparency/rekor.js';

const X = `sha256:${'ab'.repeat(32)}`;

describe('simple signing payload (formats.md, byte for byte)', () => {
  it('is exactly cosign’s bytes without annotations', () => {
    expect(simpleSigningPayload('ghcr.io/acme/app', X).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"ghcr.io/acme/app"},"image":{"docker-manifest-digest":"${X}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });

  it('puts annotations in optional with sorted keys', () => {
    const p = simpleSigningPayload('index.docker.io/library/nginx', X, { z: '1', a: 'two' }).toString();
    expect(p.endsWith(`"optional":{"a":"two","z":"1"}}`)).toBe(true);
  });

  it('escapes <, > and & as Go’s encoding/json does', () => {
    expect(goJson({ k: 'a<b>&c\u2028' })).toBe('{"k":"a\\u003cb\\u003e\\u0026c\\u2028"}');
    expect(JSON.parse(goJson({ k: 'a<b>&c' })).k).toBe('a<b>&c');
  });
});

describe('signature storage', () => {
  const rekor: RekorEntry = {
    uuid: 'u',
    logIndex: 7,
    logId: 'c0ffee',
    integratedTime: 1700000000,
    body: 'Ym9keQ==',
    signedEntryTimestamp: 'c2V0',
    kind: 'hashedrekord',
    apiVersion: '0.0.1',
  };

  it('names the tag sha256-<hex>.sig', () => {
    expect(signatureTag(X)).toBe(`sha256-${'ab'.repeat(32)}.sig`);
  });

  it('writes the Rekor bundle annotation with cosign’s capitalised keys in order', () => {
    expect(rekorBundleAnnotation(rekor)).toBe(
      '{"SignedEntryTimestamp":"c2V0","Payload":{"body":"Ym9keQ==","integratedTime":1700000000,"logIndex":7,"logID":"c0ffee"}}',
    );
  });

  it('builds a layer with sorted annotations and refuses an empty chain', () => {
    const payload = Buffer.from('{}');
    const parts = { payload, signatureB64: 'c2ln', certificatePem: 'CERT', chainPems: ['INT', 'ROOT'], rekor };
    const layer = signatureLayer(parts);
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(layer.size).toBe(2);
    expect(layer.digest).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(Object.keys(layer.annotations!)).toEqual([
      'dev.cosignproject.cosign/signature',
      'dev.sigstore.cosign/bundle',
      'dev.sigstore.cosign/certificate',
      'dev.sigstore.cosign/chain',
    ]);
    expect(layer.annotations!['dev.sigstore.cosign/chain']).toBe('INTROOT');
    expect(() => signatureLayer({ ...parts, chainPems: [] })).toThrow(/chain/);
  });

  it('keeps the config consistent with the layers', () => {
    const config = JSON.parse(signatureConfig([{ digest: 'sha256:1' }, { digest: 'sha256:2' }]).toString());
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: ['sha256:1', 'sha256:2'] });
    expect(config.history).toHaveLength(2);
    expect(Object.keys(config)).toEqual(['architecture', 'created', 'history', 'os', 'rootfs', 'config']);
  });

  it('writes a manifest without subject, artifactType or annotations', () => {
    const m = JSON.parse(signatureManifest(Buffer.from('{}'), [{ digest: 'x' }]).toString());
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(m).not.toHaveProperty('subject');
    expect(m).not.toHaveProperty('artifactType');
    expect(m).not.toHaveProperty('annotations');
  });
});
