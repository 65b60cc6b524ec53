/**
 * Checks attestations in the registry against ../shared/docs/attestations.md,
 * independently of the code that wrote them (the sandbox's OCI client,
 * node:crypto, @peculiar/x509, @sigstore/verify; nothing from src/): the
 * legacy `.att` tag as cosign 2 reads it (§1), the bundle referrer as gh and
 * cosign 3 read it (§2). Returns each attestation's statement.
 */
import 'reflect-metadata';
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { getBlob, getManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { BUNDLE_TYPE, type ListedReferrer } from './bundle-checks.js';
import { canonicalSetPayload, type TrustedRootJson } from './legacy-checks.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const sha256 = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DSSE = 'application/vnd.dsse.envelope.v1+json';
const INTOTO = 'application/vnd.in-toto+json';
const ISSUER = 'https://token.actions.githubusercontent.com';

export interface Statement {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

export interface CheckedAttestation {
  statement: Statement;
  identity: string;
  logIndex: number;
  /** sha256 hex of the DSSE payload (the statement bytes). */
  payloadHash: string;
  /** The stored element's digest: the `.att` layer or the referrer manifest. */
  stored: string;
  sizeBytes: number;
}

const pae = (type: string, payload: Buffer): Buffer => Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);

function sanOf(leaf: x509.X509Certificate): string {
  return leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.find((n) => n.type === 'url')!.value;
}

function checkStatement(payload: Buffer, name: string, digest: string): Statement {
  const s = JSON.parse(payload.toString()) as Statement;
  expect(Object.keys(s)).toEqual(['_type', 'subject', 'predicateType', 'predicate']);
  expect(s._type).toBe('https://in-toto.io/Statement/v1');
  expect(s.subject).toEqual([{ name, digest: { sha256: digest.slice('sha256:'.length) } }]);
  return s;
}

/** Every layer of `sha256-<hex>.att`, checked as cosign 2 `verify-attestation` checks it. */
export async function readAndCheckAtt(reg: RegistryAccess, repo: string, digest: string, name: string, root: TrustedRootJson): Promise<CheckedAttestation[]> {
  const m = await getManifest(reg, repo, `${digest.replace(':', '-')}.att`);
  if (!m) return [];
  expect(m.json.mediaType).toBe(MANIFEST);
  expect(m.json).not.toHaveProperty('subject');
  expect(m.json).not.toHaveProperty('annotations');
  const layers = m.json.layers as { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[];
  // The config is cosign's: one history entry and diff_id per layer (diff_id = layer digest: uncompressed).
  const config = JSON.parse((await getBlob(reg, repo, (m.json.config as { digest: string }).digest))!.toString());
  expect((m.json.config as { mediaType: string }).mediaType).toBe('application/vnd.oci.image.config.v1+json');
  expect(config.rootfs).toEqual({ type: 'layers', diff_ids: layers.map((l) => l.digest) });
  expect(config.history).toHaveLength(layers.length);
  const rekorKeys = new Map(root.tlogs.map((t) => [b64(t.logId.keyId).toString('hex'), crypto.createPublicKey({ key: b64(t.publicKey.rawBytes), format: 'der', type: 'spki' })]));
  const out: CheckedAttestation[] = [];
  for (const layer of layers) {
    expect(layer.mediaType).toBe(DSSE);
    const a = layer.annotations;
    expect(Object.keys(a).filter((k) => k !== 'dev.sigstore.cosign/rfc3161timestamp')).toEqual([
      'dev.cosignproject.cosign/signature',
      'dev.sigstore.cosign/bundle',
      'dev.sigstore.cosign/certificate',
      'dev.sigstore.cosign/chain',
      'predicateType',
    ]);
    expect(a['dev.cosignproject.cosign/signature']).toBe('');
    const blob = (await getBlob(reg, repo, layer.digest))!;
    expect(`sha256:${sha256(blob)}`).toBe(layer.digest);
    expect(blob.length).toBe(layer.size);
    const env = JSON.parse(blob.toString()) as { payload: string; payloadType: string; signatures: { sig: string }[] };
    expect(env.payloadType).toBe(INTOTO);
    const payload = b64(env.payload);
    const statement = checkStatement(payload, name, digest);
    expect(a.predicateType).toBe(statement.predicateType);
    // The DSSE signature (over PAE) by the certificate's key; the chain leads to the trusted Fulcio root.
    const leaf = new x509.X509Certificate(a['dev.sigstore.cosign/certificate']);
    expect(crypto.verify('sha256', pae(INTOTO, payload), crypto.createPublicKey(leaf.toString('pem')), b64(env.signatures[0].sig))).toBe(true);
    const chain = a['dev.sigstore.cosign/chain'].match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new x509.X509Certificate(p));
    expect(await leaf.verify({ publicKey: chain[0].publicKey, signatureOnly: true })).toBe(true);
    expect(root.certificateAuthorities.some((ca) => ca.certChain.certificates.some((c) => b64(c.rawBytes).equals(Buffer.from(chain.at(-1)!.rawData))))).toBe(true);
    // The Rekor promise: a dsse 0.0.1 entry whose envelope hash is this very layer, SET by a trusted log.
    const bundle = JSON.parse(a['dev.sigstore.cosign/bundle']) as { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
    expect(Object.keys(bundle)).toEqual(['SignedEntryTimestamp', 'Payload']);
    expect(crypto.verify('sha256', Buffer.from(canonicalSetPayload(bundle.Payload)), rekorKeys.get(bundle.Payload.logID)!, b64(bundle.SignedEntryTimestamp))).toBe(true);
    const body = JSON.parse(b64(bundle.Payload.body).toString());
    expect(body).toMatchObject({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: { envelopeHash: { algorithm: 'sha256', value: sha256(blob) }, payloadHash: { algorithm: 'sha256', value: sha256(payload) }, signatures: [{ signature: env.signatures[0].sig }] },
    });
    expect(new x509.X509Certificate(b64(body.spec.signatures[0].verifier).toString()).rawData).toEqual(leaf.rawData);
    out.push({ statement, identity: sanOf(leaf), logIndex: bundle.Payload.logIndex, payloadHash: sha256(payload), stored: layer.digest, sizeBytes: blob.length });
  }
  return out;
}

/** The listed referrers that are attestation bundles, checked as gh / cosign 3 check them. */
export async function checkAttestationReferrers(
  reg: RegistryAccess,
  repo: string,
  subject: { digest: string; mediaType: string; size: number },
  name: string,
  listed: ListedReferrer[],
  root: TrustedRootJson,
): Promise<CheckedAttestation[]> {
  const material = toTrustMaterial(TrustedRoot.fromJSON(root));
  const out: CheckedAttestation[] = [];
  const attestations = listed.filter((l) => l.artifactType === BUNDLE_TYPE && l.annotations?.['dev.sigstore.bundle.predicateType'] !== 'https://sigstore.dev/cosign/sign/v1');
  for (const d of attestations) {
    const fetched = (await getManifest(reg, repo, d.digest))!;
    expect(d).toEqual({ mediaType: MANIFEST, digest: d.digest, size: fetched.body.length, artifactType: BUNDLE_TYPE, annotations: fetched.json.annotations });
    const m = fetched.json as { artifactType: string; config: unknown; layers: { mediaType: string; digest: string }[]; subject: unknown; annotations: Record<string, string> };
    expect(Object.keys(fetched.json)).toEqual(['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations']);
    expect(m.config).toEqual({ mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 });
    expect(m.subject).toEqual(subject);
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0].mediaType).toBe(BUNDLE_TYPE);
    expect(Object.keys(m.annotations)).toEqual(['dev.sigstore.bundle.content', 'dev.sigstore.bundle.predicateType', 'org.opencontainers.image.created']);
    expect(m.annotations['dev.sigstore.bundle.content']).toBe('dsse-envelope');
    const bytes = (await getBlob(reg, repo, m.layers[0].digest))!;
    const bundle = JSON.parse(bytes.toString());
    expect(bundle.mediaType).toBe(BUNDLE_TYPE);
    expect(Object.keys(bundle.verificationMaterial.certificate)).toEqual(['rawBytes']);
    const payload = b64(bundle.dsseEnvelope.payload);
    const statement = checkStatement(payload, name, subject.digest);
    expect(m.annotations['dev.sigstore.bundle.predicateType']).toBe(statement.predicateType);
    const leaf = new x509.X509Certificate(b64(bundle.verificationMaterial.certificate.rawBytes));
    const tlog = bundle.verificationMaterial.tlogEntries[0];
    expect(tlog.kindVersion).toEqual(tlog.kindVersion.version === '0.0.1' ? { kind: 'dsse', version: '0.0.1' } : { kind: 'hashedrekord', version: '0.0.2' });
    // What gh and cosign 3 do: @sigstore/verify-equivalent checks for the GitHub identity, then the subject digest.
    new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 1 }).verify(toSignedEntity(bundleFromJSON(bundle)), { subjectAlternativeName: sanOf(leaf), extensions: { issuer: ISSUER } });
    out.push({ statement, identity: sanOf(leaf), logIndex: Number(tlog.logIndex), payloadHash: sha256(payload), stored: d.digest, sizeBytes: bytes.length });
  }
  return out;
}
