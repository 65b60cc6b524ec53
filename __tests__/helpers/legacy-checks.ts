/**
 * Checks what landed in the registry against formats.md, independently of the
 * code that wrote it: only node:crypto, @peculiar/x509 and the sandbox's own OCI
 * client. Every rule here is restated from the spec, not imported from src/.
 */
import crypto from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { RFC3161Timestamp } from '@sigstore/core';
import { getBlob, getManifest, type RegistryAccess } from '../../sandbox/oci.js';

export interface TrustedRootJson {
  tlogs: { publicKey: { rawBytes: string }; logId: { keyId: string } }[];
  certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
}

export interface CheckedSignature {
  payload: Buffer;
  annotations: Record<string, string>;
  identity: string;
  issuerV1: string;
  issuerV8: string;
  logIndex: number;
  integratedTime: number;
  /** The raw layer descriptor as stored (to compare byte for byte). */
  rawLayer: string;
}

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** RFC 8785 for the SET payload: keys sorted, no whitespace (values here are strings and integers). */
export function canonicalSetPayload(p: { body: string; integratedTime: number; logID: string; logIndex: number }): string {
  return `{"body":${JSON.stringify(p.body)},"integratedTime":${p.integratedTime},"logID":${JSON.stringify(p.logID)},"logIndex":${p.logIndex}}`;
}

export function expectedPayload(dockerReference: string, digest: string, annotations?: Record<string, string>): string {
  const optional = annotations && Object.keys(annotations).length
    ? `{${Object.keys(annotations).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(annotations[k])}`).join(',')}}`
    : 'null';
  return `{"critical":{"identity":{"docker-reference":"${dockerReference}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":${optional}}`;
}

function utf8StringValue(der: ArrayBuffer): string {
  const bytes = Buffer.from(der);
  if (bytes[0] !== 0x0c) throw new Error(`OID .8 is not a UTF8String (tag ${bytes[0]})`);
  const len = bytes[1] < 0x80 ? bytes[1] : bytes.readUIntBE(2, bytes[1] & 0x7f);
  const start = bytes[1] < 0x80 ? 2 : 2 + (bytes[1] & 0x7f);
  return bytes.subarray(start, start + len).toString('utf8');
}

/** Reads `sha256-<hex>.sig` and checks every rule of the legacy format for every layer. */
export async function readAndCheckLegacy(
  reg: RegistryAccess,
  repo: string,
  digest: string,
  dockerReference: string,
  trustedRoot: TrustedRootJson,
  annotations?: Record<string, string>,
): Promise<{ manifest: Record<string, unknown>; rawManifest: string; signatures: CheckedSignature[] }> {
  const tag = `${digest.replace(':', '-')}.sig`;
  const fetched = await getManifest(reg, repo, tag);
  if (!fetched) throw new Error(`no ${tag} in ${repo}`);
  const m = fetched.json as { mediaType: string; config: { mediaType: string; digest: string }; layers: Record<string, unknown>[] };
  expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  expect(fetched.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  expect(m).not.toHaveProperty('subject');
  expect(m).not.toHaveProperty('artifactType');
  expect(m).not.toHaveProperty('annotations');
  expect(m.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
  const config = JSON.parse((await getBlob(reg, repo, m.config.digest))!.toString());
  expect(config.rootfs.diff_ids).toEqual(m.layers.map((l) => l.digest));
  expect(config.history).toHaveLength(m.layers.length);

  const rekorKeys = new Map(trustedRoot.tlogs.map((t) => [b64(t.logId.keyId).toString('hex'), crypto.createPublicKey({ key: b64(t.publicKey.rawBytes), format: 'der', type: 'spki' })]));
  const caCerts = trustedRoot.certificateAuthorities.flatMap((ca) => ca.certChain.certificates.map((c) => new x509.X509Certificate(b64(c.rawBytes))));
  const rawLayers = fetched.body.toString().match(/"layers":\[(.*)\]\}$/)?.[1] ?? '';

  const signatures: CheckedSignature[] = [];
  for (const layer of m.layers) {
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const a = layer.annotations as Record<string, string>;
    const payload = (await getBlob(reg, repo, layer.digest as string))!;
    expect(`sha256:${crypto.createHash('sha256').update(payload).digest('hex')}`).toBe(layer.digest);
    expect(payload.toString()).toBe(expectedPayload(dockerReference, digest, annotations));

    // Certificate: GitHub SAN and issuer in OIDs .1 (raw) and .8 (UTF8String); chain annotation non-empty and issuing it.
    const leaf = new x509.X509Certificate(a['dev.sigstore.cosign/certificate']);
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
    const identity = san.names.items.find((n) => n.type === 'url')!.value;
    const issuerV1 = Buffer.from(leaf.getExtension('1.3.6.1.4.1.57264.1.1')!.value).toString('utf8');
    const issuerV8 = utf8StringValue(leaf.getExtension('1.3.6.1.4.1.57264.1.8')!.value);
    const chainPems = a['dev.sigstore.cosign/chain'].match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(chainPems.length).toBeGreaterThan(0);
    const chain = chainPems.map((p) => new x509.X509Certificate(p));
    expect(await leaf.verify({ publicKey: chain[0].publicKey, signatureOnly: true })).toBe(true);
    const root = chain[chain.length - 1];
    expect(caCerts.some((c) => Buffer.from(c.rawData).equals(Buffer.from(root.rawData)))).toBe(true);

    // Signature over the payload with the certificate's key.
    const sig = b64(a['dev.cosignproject.cosign/signature']);
    const leafKey = crypto.createPublicKey(leaf.toString('pem'));
    expect(crypto.verify('sha256', payload, leafKey, sig)).toBe(true);

    // Rekor proof: exact shape, SET by the log named, body = hashedrekord of this payload, signature and certificate.
    const bundleText = a['dev.sigstore.cosign/bundle'];
    const bundle = JSON.parse(bundleText);
    expect(Object.keys(bundle)).toEqual(['SignedEntryTimestamp', 'Payload']);
    expect(Object.keys(bundle.Payload)).toEqual(['body', 'integratedTime', 'logIndex', 'logID']);
    const key = rekorKeys.get(bundle.Payload.logID);
    expect(key).toBeDefined();
    expect(crypto.verify('sha256', Buffer.from(canonicalSetPayload(bundle.Payload)), key!, b64(bundle.SignedEntryTimestamp))).toBe(true);
    const body = JSON.parse(b64(bundle.Payload.body).toString());
    expect(body).toEqual({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(payload).digest('hex') } },
        signature: { content: a['dev.cosignproject.cosign/signature'], publicKey: { content: Buffer.from(a['dev.sigstore.cosign/certificate']).toString('base64') } },
      },
    });
    const t = bundle.Payload.integratedTime * 1000;
    expect(t).toBeGreaterThanOrEqual(leaf.notBefore.getTime() - 1000);
    expect(t).toBeLessThanOrEqual(leaf.notAfter.getTime());

    // Optional RFC 3161 timestamp: the imprint covers the raw signature bytes, inside the certificate's validity.
    if (a['dev.sigstore.cosign/rfc3161timestamp']) {
      const ts = RFC3161Timestamp.parse(b64(JSON.parse(a['dev.sigstore.cosign/rfc3161timestamp']).SignedRFC3161Timestamp) as Buffer<ArrayBuffer>);
      expect(ts.tstInfo.messageImprintHashedMessage.equals(crypto.createHash('sha256').update(sig).digest())).toBe(true);
      expect(ts.signingTime.getTime()).toBeGreaterThanOrEqual(leaf.notBefore.getTime() - 1000);
      expect(ts.signingTime.getTime()).toBeLessThanOrEqual(leaf.notAfter.getTime());
    }

    const digestText = JSON.stringify(layer.digest);
    const rawLayer = rawLayers.split(/(?=\{"mediaType")/).find((s) => s.includes(digestText) && s.includes(JSON.stringify(a['dev.cosignproject.cosign/signature'])))?.replace(/,$/, '') ?? '';
    signatures.push({ payload, annotations: a, identity, issuerV1, issuerV8, logIndex: bundle.Payload.logIndex, integratedTime: bundle.Payload.integratedTime, rawLayer });
  }
  return { manifest: fetched.json, rawManifest: fetched.body.toString(), signatures };
}
