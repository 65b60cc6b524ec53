/**
 * cosign's legacy signature format: a "simple signing" payload per signature,
 * stored as a layer of the OCI manifest tagged `sha256-<hex>.sig` in the image's
 * own repository. Byte layouts follow ../shared/docs/formats.md (cosign's
 * SIGNATURE_SPEC): this file only builds bytes; it does no I/O.
 */
import crypto from 'node:crypto';
import type { RekorEntry } from '../transparency/rekor.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain';
export const ANNOTATION_BUNDLE = 'dev.sigstore.cosign/bundle';
export const ANNOTATION_RFC3161 = 'dev.sigstore.cosign/rfc3161timestamp';

export interface LayerDescriptor {
  mediaType: string;
  size: number;
  digest: string;
  annotations?: Record<string, string>;
}

export function sha256Hex(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** `sha256:abc…` → `sha256-abc….sig`, the tag cosign reads. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/**
 * JSON as Go's encoding/json writes it (cosign marshals the payload with it):
 * `<`, `>`, `&`, U+2028 and U+2029 escaped. Keeps our bytes identical to cosign's.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function sortedObject(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The exact payload bytes cosign signs for `dockerReference@digest`. */
export function simpleSigningPayload(dockerReference: string, digest: string, annotations: Record<string, string> = {}): Buffer {
  const optional = Object.keys(annotations).length ? sortedObject(annotations) : null;
  return Buffer.from(
    goJson({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional,
    }),
  );
}

/** `dev.sigstore.cosign/bundle`: Rekor's promise, exactly as cosign writes it. */
export function rekorBundleAnnotation(entry: RekorEntry): string {
  return JSON.stringify({
    SignedEntryTimestamp: entry.signedEntryTimestamp,
    Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logId },
  });
}

export interface LegacySignatureParts {
  payload: Buffer;
  signatureB64: string;
  certificatePem: string;
  chainPems: string[];
  rekor: RekorEntry;
  rfc3161TimestampB64?: string;
}

/** The layer descriptor of one signature; annotation keys in Go's sorted order. */
export function signatureLayer(parts: LegacySignatureParts): LayerDescriptor {
  if (parts.chainPems.length === 0) throw new Error('a legacy signature needs the certificate chain (Kyverno reads it)');
  const annotations: Record<string, string> = {
    [ANNOTATION_SIGNATURE]: parts.signatureB64,
    [ANNOTATION_BUNDLE]: rekorBundleAnnotation(parts.rekor),
    [ANNOTATION_CERTIFICATE]: parts.certificatePem,
    [ANNOTATION_CHAIN]: parts.chainPems.join(''),
  };
  if (parts.rfc3161TimestampB64) {
    annotations[ANNOTATION_RFC3161] = JSON.stringify({ SignedRFC3161Timestamp: parts.rfc3161TimestampB64 });
  }
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: parts.payload.length,
    digest: `sha256:${sha256Hex(parts.payload)}`,
    annotations: sortedObject(annotations),
  };
}

/** The config blob cosign writes for a `.sig` image: one history entry and diff_id per layer. */
export function signatureConfig(layers: { digest: string }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
}

/** A `.sig` manifest: no subject, no artifactType, no annotations (formats.md). */
export function signatureManifest(config: Buffer, layers: unknown[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: OCI_CONFIG_MEDIA_TYPE, size: config.length, digest: `sha256:${sha256Hex(config)}` },
      layers,
    }),
  );
}
