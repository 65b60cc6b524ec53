/**
 * A Sigstore instance in memory, from @sigstore/mock's CA, CT log and
 * transparency log, for legacy `.sig` layers the sandbox's Fulcio and Rekor
 * would not make: certificates with any Fulcio extensions (an issuer only in
 * .8, say), and log entries naming any signer (a bare key, another
 * certificate). Layers are laid out as formats.md describes, with no code
 * from src/.
 */
import crypto from 'node:crypto';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';

export const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const LOG_URL = 'https://rekor.mini.example';
const b64 = (b: Buffer | Uint8Array | ArrayBufferView): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const pem = (der: Buffer | Uint8Array | ArrayBufferView, label = 'CERTIFICATE'): string =>
  `-----BEGIN ${label}-----\n${(b64(der).match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;
const newKeyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

export interface Extension {
  oid: string;
  value: string;
  /** Raw bytes, as Fulcio writes .1; otherwise a DER UTF8String, as it writes .8. */
  legacy?: boolean;
}

export interface LegacyLayer {
  layer: { mediaType: string; digest: string; size: number; annotations: Record<string, string> };
  payload: Buffer;
}

export interface LegacySignOptions {
  identity: string;
  extensions: Extension[];
  /** What the log entry names as the signer: the certificate (default), the bare key, or this PEM. */
  logSigner?: 'certificate' | 'key' | string;
  /** The signing key; default a fresh one. */
  keyPair?: crypto.KeyPairKeyObjectResult;
}

export interface AttestOptions {
  identity: string;
  extensions: Extension[];
  predicateType: string;
  /** The Rekor entry: `dsse` 0.0.1 (cosign ≥ 2.2) or `intoto` 0.0.1 (older cosign, `--rekor-entry-type intoto`). */
  kind: 'dsse' | 'intoto';
  /** Changes the entry before it is logged (a log that accepted a wrong entry: the promise covers it). */
  editBody?: (body: { spec: Record<string, unknown> }) => void;
  /** Signs something else than the statement. */
  wrongSignature?: boolean;
}

export interface MiniSigstore {
  /** protobuf-specs TrustedRoot JSON of this instance. */
  trustedRoot: object;
  /** A certificate for `publicKeyDer` (SPKI), PEM. */
  issue(publicKeyDer: Buffer, identity: string, extensions: Extension[]): Promise<string>;
  /** A complete keyless `.sig` layer for `digest`, with a fresh key. */
  signLegacy(digest: string, opts: LegacySignOptions): Promise<LegacyLayer & { keyPair: crypto.KeyPairKeyObjectResult; certificatePem: string }>;
  /** A keyless `.att` layer for `digest`, as cosign 2 writes it (attestations.md §1.3-1.6); `payload` is the envelope. */
  attestLegacy(digest: string, opts: AttestOptions): Promise<LegacyLayer>;
}

export async function startMiniSigstore(): Promise<MiniSigstore> {
  const ctLog = await initializeCTLog(newKeyPair());
  // A minute in the past: the log's time (whole seconds) must fall inside the certificate's validity.
  const ca = await initializeCA(newKeyPair(), ctLog, new Date(Date.now() - 60_000));
  const tlog = await initializeTLog(LOG_URL, newKeyPair());
  const start = '2020-01-01T00:00:00Z';
  const key = (raw: Buffer | Uint8Array | ArrayBufferView) => ({ rawBytes: b64(raw), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: LOG_URL, hashAlgorithm: 'SHA2_256', publicKey: key(tlog.publicKey), logId: { keyId: b64(crypto.createHash('sha256').update(tlog.publicKey).digest()) } }],
    certificateAuthorities: [
      { subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: 'https://fulcio.mini.example', certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] }, validFor: { start } },
    ],
    ctlogs: [{ baseUrl: 'https://ct.mini.example', hashAlgorithm: 'SHA2_256', publicKey: key(ctLog.publicKey), logId: { keyId: b64(ctLog.logID) } }],
    timestampAuthorities: [],
  };

  const issue = async (publicKeyDer: Buffer, identity: string, extensions: Extension[]) =>
    pem(await ca.issueCertificate({ publicKey: publicKeyDer as Buffer<ArrayBuffer>, subjectAltName: identity, extensions }));

  const signLegacy: MiniSigstore['signLegacy'] = async (digest, opts) => {
    const keyPair = opts.keyPair ?? newKeyPair();
    const spki = keyPair.publicKey.export({ format: 'der', type: 'spki' });
    const certificatePem = await issue(spki, opts.identity, opts.extensions);
    const payload = Buffer.from(
      JSON.stringify({ critical: { identity: { 'docker-reference': 'mini.example/app' }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }),
    );
    const signature = crypto.sign('sha256', payload, keyPair.privateKey);
    const logSigner = opts.logSigner ?? 'certificate';
    const signerPem = logSigner === 'certificate' ? certificatePem : logSigner === 'key' ? pem(spki, 'PUBLIC KEY') : logSigner;
    const logged = await tlog.log({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(payload).digest('hex') } },
        signature: { content: b64(signature), publicKey: { content: b64(Buffer.from(signerPem)) } },
      },
    });
    const entry = Object.values(logged)[0] as { body: string; integratedTime: number; logID: string; logIndex: number; verification: { signedEntryTimestamp: string } };
    const annotations = {
      'dev.cosignproject.cosign/signature': b64(signature),
      'dev.sigstore.cosign/certificate': certificatePem,
      'dev.sigstore.cosign/chain': pem(ca.rootCertificate),
      'dev.sigstore.cosign/bundle': JSON.stringify({
        SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
        Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID },
      }),
    };
    const layer = { mediaType: SIMPLE_SIGNING, digest: `sha256:${crypto.createHash('sha256').update(payload).digest('hex')}`, size: payload.length, annotations };
    return { layer, payload, keyPair, certificatePem };
  };

  const attestLegacy: MiniSigstore['attestLegacy'] = async (digest, opts) => {
    const keyPair = newKeyPair();
    const certificatePem = await issue(keyPair.publicKey.export({ format: 'der', type: 'spki' }), opts.identity, opts.extensions);
    const statement = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: opts.predicateType, subject: [{ name: 'mini.example/app', digest: { sha256: digest.split(':')[1] } }], predicate: {} }),
    );
    const type = 'application/vnd.in-toto+json';
    const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${statement.length} `), statement]);
    const sig = b64(crypto.sign('sha256', opts.wrongSignature ? Buffer.concat([pae, Buffer.from('x')]) : pae, keyPair.privateKey));
    const envelope = Buffer.from(JSON.stringify({ payloadType: type, payload: b64(statement), signatures: [{ keyid: '', sig }] }));
    const hash = (b: Buffer) => ({ algorithm: 'sha256', value: crypto.createHash('sha256').update(b).digest('hex') });
    const signer = b64(Buffer.from(certificatePem));
    const body =
      opts.kind === 'dsse'
        ? { apiVersion: '0.0.1', kind: 'dsse', spec: { envelopeHash: hash(envelope), payloadHash: hash(statement), signatures: [{ signature: sig, verifier: signer }] } }
        : { apiVersion: '0.0.1', kind: 'intoto', spec: { content: { hash: hash(envelope), payloadHash: hash(statement) }, publicKey: signer } };
    opts.editBody?.(body as { spec: Record<string, unknown> });
    const entry = Object.values(await tlog.log(body))[0] as { body: string; integratedTime: number; logID: string; logIndex: number; verification: { signedEntryTimestamp: string } };
    const annotations = {
      'dev.cosignproject.cosign/signature': '',
      'dev.sigstore.cosign/certificate': certificatePem,
      'dev.sigstore.cosign/chain': pem(ca.rootCertificate),
      'dev.sigstore.cosign/bundle': JSON.stringify({
        SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
        Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID },
      }),
      predicateType: opts.predicateType,
    };
    const layer = { mediaType: 'application/vnd.dsse.envelope.v1+json', digest: `sha256:${hash(envelope).value}`, size: envelope.length, annotations };
    return { layer, payload: envelope };
  };

  return { trustedRoot, issue, signLegacy, attestLegacy };
}
