/**
 * One attestation of one image: the in-toto statement, signed once (DSSE, the
 * run's one certificate), logged once, then stored in each layout asked for —
 * cosign's `.att` tag (legacy) and/or a Sigstore bundle referrer — from the
 * same envelope and the same log entry, so `both` costs one log upload (the
 * whole envelope, on Rekor v1: the large part for an SBOM).
 * A blob is pushed before anything is logged: it proves we may write to the
 * repository before anything is published in the transparency log.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SerializedBundle } from '@sigstore/bundle';
import { ActionError } from '../errors.js';
import { attestationStatement, attestationLayer } from '../formats/att.js';
import { attestationReferrerAnnotations } from '../formats/attestation-bundle.js';
import { attestationTag, INTOTO_PAYLOAD_TYPE } from '../formats/attestation-constants.js';
import {
  BUNDLE_MEDIA_TYPE,
  dsseBundle,
  dsseEnvelope,
  dsseProposal,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  preAuthEncoding,
  referrerDescriptor,
  referrerManifest,
  referrersTag,
} from '../formats/bundle.js';
import { signatureConfig } from '../formats/legacy.js';
import { assertWithinValidity } from '../identity/certificate.js';
import { appendIndexDescriptors, appendLayers } from '../registry/append.js';
import { MEDIA_TYPES } from '../registry/types.js';
import { referrerCountNotes, type BundleSigningContext } from '../sign/bundle.js';
import { bundleFileName } from '../sign/legacy.js';
import type { LogEntryRef } from '../sign/types.js';
import type { Subject } from '../subjects/resolve.js';
import { entryUrl, type RekorEntry } from '../transparency/rekor.js';
import type { AttestationRecord, AttestationSpec } from './types.js';

export type Layout = 'legacy' | 'bundle';

interface Logged {
  bundle: SerializedBundle;
  ref: LogEntryRef;
  /** Rekor v1 only: what the `.att` layer's bundle annotation carries. */
  v1?: RekorEntry;
}

/** Kyverno's SigstoreBundle verifier refuses bundle layers larger than this (maxLayerSize, attestations.md §4.1). */
export const KYVERNO_MAX_LAYER_BYTES = 10_000_000;
const kyvernoSizeNote = (size: number): string =>
  `the bundle is ${size} bytes; Kyverno (type: SigstoreBundle) refuses bundle layers over ${KYVERNO_MAX_LAYER_BYTES} bytes, so a policy requiring this attestation there will not find it (cosign and gh read it)`;

/** A file name part for the predicate type: `https://slsa.dev/provenance/v1` → `slsa.dev-provenance-v1`. */
export function predicateSlug(predicateType: string): string {
  return predicateType.replace(/^[a-z]+:\/\//i, '').replace(/[^a-zA-Z0-9.]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

/** Rekor v1 needs the whole envelope: a refusal for size says so, with the way out. */
function sizeRefusal(err: unknown, envelopeBytes: number, image: string, rekorUrl: string, source: string): unknown {
  if (!(err instanceof ActionError) || !/HTTP 413\b/.test(err.message)) return err;
  const input = source.startsWith('predicate-path') ? 'predicate-path' : source === 'predicate' ? 'predicate' : 'attest';
  return new ActionError(
    `Rekor (${rekorUrl}) refused the attestation's log entry as too large: Rekor v1 needs the whole DSSE envelope (${envelopeBytes} bytes) in the request`,
    { image, input, fix: 'use a Sigstore instance whose Rekor accepts larger requests, or one with Rekor v2 (only a digest is logged there), or attest a smaller predicate', cause: err },
  );
}

async function logOnce(
  envelopeJson: ReturnType<typeof dsseEnvelope>,
  ctx: BundleSigningContext,
  image: string,
  tsaTimestamps: { response: Buffer; genTime: Date }[],
  source: string,
): Promise<Logged> {
  const rfc3161Timestamps = tsaTimestamps.map((t) => t.response);
  const cert = await ctx.signer.certificate();
  if (ctx.rekorV2) {
    if (!tsaTimestamps.length) {
      throw new ActionError('Rekor v2 records no signing time, so an attestation logged there needs an RFC 3161 timestamp', {
        image,
        input: 'tsa-url',
        fix: 'set `tsa-url` to the timestamp authority of the custom Sigstore instance',
      });
    }
    // The same hashedrekord-over-PAE entry a bundle signature gets (transparency/rekor-v2.ts).
    const entry = await ctx.rekorV2.createDsseEntry(envelopeJson, cert.leafPem, image);
    const bundle = dsseBundle({ envelope: envelopeJson, certificatePem: cert.leafPem, rekor: { v2: entry.json }, rfc3161Timestamps });
    // v2 has no integrated time: the timestamp authority's time stands in for it (as for signatures).
    const integratedTime = Math.floor(tsaTimestamps[0].genTime.getTime() / 1000);
    return { bundle, ref: { logIndex: entry.logIndex, logId: entry.logId, integratedTime, uuid: '', url: ctx.rekorV2.baseUrl, kind: entry.kind } };
  }
  const envelopeBytes = Buffer.byteLength(JSON.stringify(envelopeJson));
  let created: RekorEntry;
  try {
    created = await ctx.rekor.createEntry(dsseProposal(envelopeJson, cert.leafPem), image, { deadline: cert.notAfter.getTime() });
  } catch (err) {
    throw sizeRefusal(err, envelopeBytes, image, ctx.rekor.baseUrl, source);
  }
  assertWithinValidity('the transparency log recorded the attestation at', new Date(created.integratedTime * 1000), cert, image);
  // A v0.3 bundle needs the inclusion proof; Rekor gives it on creation, else we ask for the entry.
  const entry = created.inclusionProof ? created : { ...(await ctx.rekor.getByIndex(created.logIndex, image)), signedEntryTimestamp: created.signedEntryTimestamp };
  if (!entry.inclusionProof) throw new ActionError(`Rekor (${ctx.rekor.baseUrl}) gave no inclusion proof for entry ${entry.logIndex}`, { image });
  const bundle = dsseBundle({ envelope: envelopeJson, certificatePem: cert.leafPem, rekor: entry, rfc3161Timestamps });
  const url = entryUrl(ctx.instance, ctx.rekor.baseUrl, entry.logIndex);
  return { bundle, v1: entry, ref: { logIndex: entry.logIndex, logId: entry.logId, integratedTime: entry.integratedTime, uuid: entry.uuid, url, kind: entry.kind } };
}

export async function attestSubject(subject: Subject, spec: AttestationSpec, layouts: Layout[], ctx: BundleSigningContext): Promise<AttestationRecord[]> {
  const image = `${subject.dockerReference}@${subject.digest}`;
  const statement = attestationStatement({ name: subject.dockerReference, digest: subject.digest }, spec.predicateType, spec.predicate);
  const cert = await ctx.signer.certificate();
  const pae = preAuthEncoding(INTOTO_PAYLOAD_TYPE, statement);
  const signature = ctx.signer.sign(pae);
  const envelopeJson = dsseEnvelope(statement, signature);
  // The exact bytes logged (Rekor's envelopeHash) and stored as the `.att` layer.
  const envelope = Buffer.from(JSON.stringify(envelopeJson));

  // Proof of write access before logging: the `.att` layer itself, else the referrer's empty config.
  if (layouts.includes('legacy')) await ctx.registry.pushBlob(subject.repo, envelope, undefined, { checkExists: false });
  else await ctx.registry.pushBlob(subject.repo, EMPTY_CONFIG_BYTES, EMPTY_CONFIG.mediaType);

  // The bundle's timestamp covers the signature (sigstore-go); cosign 2's `.att` one covers the envelope JSON.
  const stamp = async (bytes: Buffer): Promise<{ response: Buffer; genTime: Date } | undefined> => {
    if (!ctx.tsa) return undefined;
    const t = await ctx.tsa.timestamp(bytes, image);
    assertWithinValidity('the timestamp authority dated the attestation', t.genTime, cert, image);
    return t;
  };
  const signatureStamp = layouts.includes('bundle') || ctx.rekorV2 ? await stamp(signature) : undefined;
  const logged = await logOnce(envelopeJson, ctx, image, signatureStamp ? [signatureStamp] : [], spec.source);

  const bundlePath = path.join(ctx.bundleDir, bundleFileName(subject, `att-${predicateSlug(spec.predicateType)}`));
  await fs.writeFile(bundlePath, `${JSON.stringify(logged.bundle, null, 2)}\n`);
  const base = { image, digest: subject.digest, rekor: logged.ref, bundlePath, platform: subject.platform, predicateType: spec.predicateType };
  const records: AttestationRecord[] = [];

  if (layouts.includes('legacy')) {
    if (!logged.v1) throw new ActionError('a legacy .att attestation needs a Rekor v1 entry (its signed entry timestamp)', { image, input: 'signature-format' });
    const envelopeStamp = await stamp(envelope);
    const layer = attestationLayer({
      envelope,
      predicateType: spec.predicateType,
      certificatePem: cert.leafPem,
      chainPems: cert.chainPems,
      rekor: logged.v1,
      rfc3161TimestampB64: envelopeStamp?.response.toString('base64'),
    });
    const tag = attestationTag(subject.digest);
    await appendLayers(ctx.registry, subject.repo, tag, [{ descriptor: layer, blob: envelope }], (layers) => signatureConfig(layers), {
      image,
      blobsPresent: true,
      noun: 'attestation',
    });
    records.push({ ...base, format: 'legacy', reference: `${subject.dockerReference}:${tag}`, storedDigest: layer.digest });
  }

  if (layouts.includes('bundle')) {
    const bundleBytes = Buffer.from(JSON.stringify(logged.bundle));
    // With `both`, the envelope went up first; the referrer's empty config still has to.
    if (layouts.includes('legacy')) await ctx.registry.pushBlob(subject.repo, EMPTY_CONFIG_BYTES, EMPTY_CONFIG.mediaType);
    const layer = await ctx.registry.pushBlob(subject.repo, bundleBytes, BUNDLE_MEDIA_TYPE, { checkExists: false });
    const annotations = attestationReferrerAnnotations((ctx.now ?? (() => new Date()))(), spec.predicateType);
    const manifest = referrerManifest(subject, layer, annotations);
    const descriptor = referrerDescriptor(manifest, annotations);
    await ctx.registry.putManifest(subject.repo, descriptor.digest, manifest, MEDIA_TYPES.ociManifest);
    const referrers = await ctx.registry.referrers(subject.repo, subject.digest);
    const listed = referrers.supported
      ? referrers.manifests.length
      : (await appendIndexDescriptors(ctx.registry, subject.repo, referrersTag(subject.digest), [descriptor], { image })).count;
    const notes = [...(referrerCountNotes(listed) ?? []), ...(bundleBytes.length > KYVERNO_MAX_LAYER_BYTES ? [kyvernoSizeNote(bundleBytes.length)] : [])];
    records.push({ ...base, format: 'bundle', reference: `${subject.dockerReference}@${descriptor.digest}`, storedDigest: descriptor.digest, ...(notes.length ? { notes } : {}) });
  }
  return records;
}
