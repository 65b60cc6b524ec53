/**
 * Checks bundle referrers in the registry against formats.md ("Bundle
 * format"), independently of the code that wrote them: the sandbox's OCI
 * client, node:crypto, @peculiar/x509 and @sigstore/verify (the library a
 * verifier would use), nothing from src/. Each rule is restated from the spec.
 */
import 'reflect-metadata';
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { bundleFromJSON } from '@sigstore/bundle';
import { RFC3161Timestamp } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { getBlob, getManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { canonicalSetPayload, type TrustedRootJson } from './legacy-checks.js';

export const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 };
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const sha256 = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');

export interface ListedReferrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The parts of a bundle (protobuf JSON) these checks read. */
export interface BundleJson {
  mediaType: string;
  verificationMaterial: {
    certificate: { rawBytes: string };
    tlogEntries: {
      logIndex: string;
      logId: { keyId: string };
      kindVersion: { kind: string; version: string };
      integratedTime: string;
      inclusionPromise?: { signedEntryTimestamp: string };
      inclusionProof: { hashes?: string[]; checkpoint: { envelope: string } };
      canonicalizedBody: string;
    }[];
    timestampVerificationData?: { rfc3161Timestamps?: { signedTimestamp: string }[] };
  };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
}

interface ReferrerManifestJson {
  schemaVersion: number;
  mediaType: string;
  artifactType: string;
  config: ListedReferrer;
  layers: ListedReferrer[];
  subject: ListedReferrer;
  annotations: Record<string, string>;
}

export interface CheckedBundle {
  referrer: string;
  identity: string;
  leafDer: Buffer;
  logIndex: number;
  integratedTime: number;
  bundle: BundleJson;
  timestamped: boolean;
}

/** The fallback index `sha256-<hex>`: an OCI index whose descriptors carry artifactType and annotations. */
export async function fallbackIndex(reg: RegistryAccess, repo: string, digest: string): Promise<ListedReferrer[] | undefined> {
  const index = await getManifest(reg, repo, digest.replace(':', '-'));
  if (!index) return undefined;
  expect(index.mediaType).toBe(INDEX);
  expect(index.json.mediaType).toBe(INDEX);
  return index.json.manifests as ListedReferrer[];
}

/** `GET /v2/<name>/referrers/<digest>` as a verifier asks it. */
export async function referrersApi(reg: RegistryAccess, repo: string, digest: string): Promise<ListedReferrer[]> {
  const res = await fetch(`${reg.url}/v2/${repo}/referrers/${digest}`, { headers: { accept: INDEX } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(INDEX);
  return ((await res.json()) as { manifests: ListedReferrer[] }).manifests;
}

function pae(type: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);
}

/**
 * Checks every listed bundle referrer of `subject` and returns what each says.
 * `annotations` are those the run signed (`annotations` input).
 */
export async function checkBundleReferrers(
  reg: RegistryAccess,
  repo: string,
  subject: { digest: string; mediaType: string; size: number },
  listed: ListedReferrer[],
  trustedRoot: TrustedRootJson,
  annotations: Record<string, string> = {},
): Promise<CheckedBundle[]> {
  const material = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot));
  const rekorKeys = new Map(trustedRoot.tlogs.map((t) => [b64(t.logId.keyId).toString('hex'), crypto.createPublicKey({ key: b64(t.publicKey.rawBytes), format: 'der', type: 'spki' })]));
  const out: CheckedBundle[] = [];
  for (const d of listed.filter((l) => l.artifactType === BUNDLE_TYPE)) {
    const fetched = await getManifest(reg, repo, d.digest);
    if (!fetched) throw new Error(`listed referrer ${d.digest} is not in ${repo}`);
    // The listing describes the manifest exactly: digest, size, media type, artifactType, annotations.
    expect(fetched.digest).toBe(d.digest);
    expect(d).toEqual({ mediaType: MANIFEST, digest: d.digest, size: fetched.body.length, artifactType: BUNDLE_TYPE, annotations: fetched.json.annotations });
    const m = fetched.json as unknown as ReferrerManifestJson;
    expect(m.schemaVersion).toBe(2);
    expect(m.mediaType).toBe(MANIFEST);
    expect(m.artifactType).toBe(BUNDLE_TYPE);
    expect(m.config).toEqual(EMPTY);
    expect((await getBlob(reg, repo, EMPTY.digest))!.toString()).toBe('{}');
    expect(m.subject).toEqual({ mediaType: subject.mediaType, digest: subject.digest, size: subject.size });
    expect(Object.keys(m.annotations).sort()).toEqual(['dev.sigstore.bundle.content', 'dev.sigstore.bundle.predicateType', 'org.opencontainers.image.created']);
    expect(m.annotations['dev.sigstore.bundle.content']).toBe('dsse-envelope');
    expect(m.annotations['dev.sigstore.bundle.predicateType']).toBe('https://sigstore.dev/cosign/sign/v1');
    expect(m.annotations['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(m.annotations['org.opencontainers.image.created']) - Date.now())).toBeLessThan(10 * 60_000);
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0].mediaType).toBe(BUNDLE_TYPE);
    const bundleBytes = (await getBlob(reg, repo, m.layers[0].digest))!;
    expect(`sha256:${sha256(bundleBytes)}`).toBe(m.layers[0].digest);
    expect(bundleBytes.length).toBe(m.layers[0].size);
    const bundle = JSON.parse(bundleBytes.toString()) as BundleJson;

    // The bundle: v0.3, leaf certificate only, one DSSE entry with proof and promise.
    expect(bundle.mediaType).toBe(BUNDLE_TYPE);
    expect(Object.keys(bundle.verificationMaterial.certificate)).toEqual(['rawBytes']);
    expect(bundle.verificationMaterial).not.toHaveProperty('x509CertificateChain');
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    const tlog = bundle.verificationMaterial.tlogEntries[0];
    // Rekor v1: dsse 0.0.1 with proof and promise. Rekor v2: hashedrekord 0.0.2 over the PAE (rekor-tiles ≥ 2.3
    // takes no DSSE entries; cosign ≥ 3.1 logs the same), proof only, and then a timestamp is a must.
    const v2 = tlog.kindVersion.version === '0.0.2';
    expect(tlog.kindVersion).toEqual(v2 ? { kind: 'hashedrekord', version: '0.0.2' } : { kind: 'dsse', version: '0.0.1' });
    expect(tlog.inclusionProof.checkpoint.envelope).toBeTruthy();
    if (v2) expect(tlog).not.toHaveProperty('inclusionPromise');
    else expect(tlog.inclusionPromise?.signedEntryTimestamp).toBeTruthy();

    // The statement: exactly cosign 3's, about this digest.
    const env = bundle.dsseEnvelope;
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    expect(env.signatures).toHaveLength(1);
    const payload = b64(env.payload);
    const sortedAnnotations = Object.fromEntries(Object.keys(annotations).sort().map((k) => [k, annotations[k]]));
    expect(payload.toString()).toBe(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: subject.digest.slice(7) }, annotations: sortedAnnotations }], predicateType: 'https://sigstore.dev/cosign/sign/v1', predicate: {} }),
    );

    // The signature is over PAE, by the certificate's key.
    const leafDer = b64(bundle.verificationMaterial.certificate.rawBytes);
    const leaf = new x509.X509Certificate(leafDer);
    const sig = b64(env.signatures[0].sig);
    expect(crypto.verify('sha256', pae(env.payloadType, payload), crypto.createPublicKey(leaf.toString('pem')), sig)).toBe(true);

    // The log entry: (v1) SET by a trusted log over this body; the body is this envelope with this certificate.
    const body = JSON.parse(b64(tlog.canonicalizedBody).toString());
    if (v2) {
      // rekor-tiles' Entry: hashedRekordV002 with the digest of the PAE and the signature with its verifier certificate (DER).
      expect(body).toMatchObject({ apiVersion: '0.0.2', kind: 'hashedrekord' });
      const paeDigest = crypto.createHash('sha256').update(pae(env.payloadType, payload)).digest('base64');
      expect(body.spec.hashedRekordV002).toEqual({
        data: { algorithm: 'SHA2_256', digest: paeDigest },
        signature: { content: env.signatures[0].sig, verifier: { keyDetails: 'PKIX_ECDSA_P256_SHA_256', x509Certificate: { rawBytes: leafDer.toString('base64') } } },
      });
      expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    } else {
      const set = { body: tlog.canonicalizedBody, integratedTime: Number(tlog.integratedTime), logID: b64(tlog.logId.keyId).toString('hex'), logIndex: Number(tlog.logIndex) };
      expect(crypto.verify('sha256', Buffer.from(canonicalSetPayload(set)), rekorKeys.get(set.logID)!, b64(tlog.inclusionPromise!.signedEntryTimestamp))).toBe(true);
      expect(body).toMatchObject({ apiVersion: '0.0.1', kind: 'dsse', spec: { payloadHash: { algorithm: 'sha256', value: sha256(payload) }, signatures: [{ signature: env.signatures[0].sig }] } });
      const verifierPem = b64(body.spec.signatures[0].verifier).toString();
      expect(new x509.X509Certificate(verifierPem).rawData).toEqual(leaf.rawData);
    }

    // An RFC 3161 timestamp, when there is one, covers the signature bytes.
    const timestamps = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
    for (const t of timestamps) {
      const ts = RFC3161Timestamp.parse(b64(t.signedTimestamp) as Buffer<ArrayBuffer>);
      expect(ts.tstInfo.messageImprintHashedMessage.toString('hex')).toBe(sha256(sig));
    }

    // And the whole thing verifies with @sigstore/verify from what the registry holds, for the GitHub identity.
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.find((n) => n.type === 'url')!.value;
    const signer = new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 1 }).verify(toSignedEntity(bundleFromJSON(bundle as unknown)), {
      subjectAlternativeName: san,
      extensions: { issuer: 'https://token.actions.githubusercontent.com' },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(san);
    out.push({ referrer: d.digest, identity: san, leafDer, logIndex: Number(tlog.logIndex), integratedTime: Number(tlog.integratedTime), bundle, timestamped: timestamps.length > 0 });
  }
  return out;
}
