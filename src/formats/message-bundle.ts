/**
 * A legacy signature expressed as a Sigstore bundle (message signature +
 * hashedrekord entry). Used twice: written to `bundle-path` for offline checks
 * with sigstore-js/cosign, and fed to @sigstore/verify when verifying a `.sig`
 * layer (whose annotations hold the same facts).
 */
import { X509Certificate } from '@sigstore/core';
import type { SerializedBundle } from '@sigstore/bundle';
import type { RekorEntry } from '../transparency/rekor.js';

const hexToB64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

export function pemToDerB64(pem: string): string {
  return Buffer.from(X509Certificate.parse(pem).root.toDER()).toString('base64');
}

/** The transparency-log entry in the bundle's protobuf-JSON form. */
export function tlogEntryJson(entry: RekorEntry, withProof: boolean): Record<string, unknown> {
  const json: Record<string, unknown> = {
    logIndex: String(entry.logIndex),
    logId: { keyId: hexToB64(entry.logId) },
    kindVersion: { kind: entry.kind, version: entry.apiVersion },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: entry.signedEntryTimestamp },
    canonicalizedBody: entry.body,
  };
  const p = entry.inclusionProof;
  if (withProof && p) {
    json.inclusionProof = {
      logIndex: String(p.logIndex),
      rootHash: hexToB64(p.rootHash),
      treeSize: String(p.treeSize),
      hashes: p.hashes.map(hexToB64),
      checkpoint: { envelope: p.checkpoint },
    };
  }
  return json;
}

export interface MessageBundleInput {
  payloadSha256Hex: string;
  signatureB64: string;
  certificatePem: string;
  rekor: RekorEntry;
  /** RFC 3161 timestamp over the signature bytes, DER base64 (`dev.sigstore.cosign/rfc3161timestamp`). */
  rfc3161TimestampB64?: string;
}

/**
 * v0.3 with the leaf certificate when Rekor gave an inclusion proof (what
 * current verifiers want); v0.1 with the promise only otherwise (all a `.sig`
 * layer carries).
 */
export function messageSignatureBundle(input: MessageBundleInput): SerializedBundle {
  const withProof = Boolean(input.rekor.inclusionProof);
  const certDer = pemToDerB64(input.certificatePem);
  return {
    mediaType: withProof
      ? 'application/vnd.dev.sigstore.bundle.v0.3+json'
      : 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      ...(withProof
        ? { certificate: { rawBytes: certDer } }
        : { x509CertificateChain: { certificates: [{ rawBytes: certDer }] } }),
      tlogEntries: [tlogEntryJson(input.rekor, withProof)],
      ...(input.rfc3161TimestampB64
        ? { timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: input.rfc3161TimestampB64 }] } }
        : {}),
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: hexToB64(input.payloadSha256Hex) },
      signature: input.signatureB64,
    },
  } as unknown as SerializedBundle;
}
