/**
 * One bundle signature (cosign 3's format) for one subject: in-toto statement →
 * DSSE signature with the run's one certificate → (RFC 3161 timestamp) → Rekor
 * `dsse` entry → Sigstore bundle v0.3 → OCI 1.1 referrer of the subject, listed
 * by the referrers API or, where the registry has none, in the referrers tag
 * schema's index (`sha256-<hex>`), appended without losing other referrers.
 * The empty config blob is pushed first: it proves we may write to the
 * repository before anything is published in the transparency log.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SerializedBundle } from '@sigstore/bundle';
import { ActionError } from '../errors.js';
import {
  BUNDLE_MEDIA_TYPE,
  dsseBundle,
  dsseEnvelope,
  dsseProposal,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  INTOTO_PAYLOAD_TYPE,
  preAuthEncoding,
  referrerAnnotations,
  referrerDescriptor,
  referrerManifest,
  referrersTag,
  signStatement,
} from '../formats/bundle.js';
import { assertWithinValidity } from '../identity/certificate.js';
import { appendIndexDescriptors } from '../registry/append.js';
import { MEDIA_TYPES } from '../registry/types.js';
import type { Subject } from '../subjects/resolve.js';
import { entryUrl, type RekorEntry } from '../transparency/rekor.js';
import type { RekorV2Client } from '../transparency/rekor-v2.js';
import { bundleFileName, type SigningContext } from './legacy.js';
import type { LogEntryRef, Recalled, SignatureRecord } from './types.js';

export interface BundleSigningContext extends SigningContext {
  /** Set when the custom instance's `rekor-url` is Rekor v2: log there instead of `rekor` (needs `tsa`). */
  rekorV2?: RekorV2Client;
  /** The referrer's `org.opencontainers.image.created`; default: now. */
  now?: () => Date;
}

/**
 * Kyverno's SigstoreBundle verifier gives up on a digest with more than 50
 * referrers (attestations and SBOMs count too): say so before it happens.
 */
export const KYVERNO_REFERRER_LIMIT = 50;
export function referrerCountNotes(count: number): string[] | undefined {
  if (count < KYVERNO_REFERRER_LIMIT - 10) return undefined;
  return [
    `this digest has ${count} referrers; Kyverno (type: SigstoreBundle) rejects digests with more than ${KYVERNO_REFERRER_LIMIT}: stop re-signing it, or prune old referrers`,
  ];
}

/** A v0.3 bundle needs the inclusion proof; Rekor gives it on creation, else we ask for the entry. */
async function withInclusionProof(entry: RekorEntry, ctx: BundleSigningContext, image: string): Promise<RekorEntry> {
  if (entry.inclusionProof) return entry;
  const fetched = await ctx.rekor.getByIndex(entry.logIndex, image);
  if (!fetched.inclusionProof) {
    throw new ActionError(`Rekor (${ctx.rekor.baseUrl}) gave no inclusion proof for entry ${entry.logIndex}`, {
      image,
      fix: 'check that `rekor-url` is a current Rekor v1 API (bundles need the inclusion proof)',
    });
  }
  return { ...fetched, signedEntryTimestamp: fetched.signedEntryTimestamp || entry.signedEntryTimestamp };
}

export async function signBundle(subject: Subject, ctx: BundleSigningContext): Promise<SignatureRecord> {
  const image = `${subject.dockerReference}@${subject.digest}`;
  await ctx.registry.pushBlob(subject.repo, EMPTY_CONFIG_BYTES, EMPTY_CONFIG.mediaType);

  const statement = signStatement(subject.digest, ctx.annotations);
  const cert = await ctx.signer.certificate();
  const signature = ctx.signer.sign(preAuthEncoding(INTOTO_PAYLOAD_TYPE, statement));
  const envelope = dsseEnvelope(statement, signature);

  const timestamp = ctx.tsa ? await ctx.tsa.timestamp(signature, image) : undefined;
  if (timestamp) assertWithinValidity('the timestamp authority dated the signature', timestamp.genTime, cert, image);
  const rfc3161Timestamps = timestamp ? [timestamp.response] : [];

  let bundle: SerializedBundle;
  let logged: LogEntryRef;
  if (ctx.rekorV2) {
    if (!timestamp) {
      throw new ActionError('Rekor v2 records no signing time, so a bundle logged there needs an RFC 3161 timestamp', {
        image,
        input: 'tsa-url',
        fix: 'set `tsa-url` to the timestamp authority of the custom Sigstore instance',
      });
    }
    const entry = await ctx.rekorV2.createDsseEntry(envelope, cert.leafPem, image);
    bundle = dsseBundle({ envelope, certificatePem: cert.leafPem, rekor: { v2: entry.json }, rfc3161Timestamps });
    // v2 has no integrated time: the timestamp authority's time stands in for it.
    const integratedTime = Math.floor(timestamp.genTime.getTime() / 1000);
    logged = { logIndex: entry.logIndex, logId: entry.logId, integratedTime, uuid: '', url: ctx.rekorV2.baseUrl, kind: entry.kind };
  } else {
    const created = await ctx.rekor.createEntry(dsseProposal(envelope, cert.leafPem), image, { deadline: cert.notAfter.getTime() });
    assertWithinValidity('the transparency log recorded the signature at', new Date(created.integratedTime * 1000), cert, image);
    const entry = await withInclusionProof(created, ctx, image);
    bundle = dsseBundle({ envelope, certificatePem: cert.leafPem, rekor: entry, rfc3161Timestamps });
    const url = entryUrl(ctx.instance, ctx.rekor.baseUrl, entry.logIndex);
    logged = { logIndex: entry.logIndex, logId: entry.logId, integratedTime: entry.integratedTime, uuid: entry.uuid, url, kind: entry.kind };
  }
  const bundleBytes = Buffer.from(JSON.stringify(bundle));
  // A fresh bundle (new signature, new log entry) cannot be there yet: no HEAD first.
  const layer = await ctx.registry.pushBlob(subject.repo, bundleBytes, BUNDLE_MEDIA_TYPE, { checkExists: false });
  const annotations = referrerAnnotations((ctx.now ?? (() => new Date()))());
  const manifest = referrerManifest(subject, layer, annotations);
  const descriptor = referrerDescriptor(manifest, annotations);
  await ctx.registry.putManifest(subject.repo, descriptor.digest, manifest, MEDIA_TYPES.ociManifest);

  // The API lists referrers by itself; without it, we maintain the fallback index.
  const referrers = await ctx.registry.referrers(subject.repo, subject.digest);
  const readBack: Recalled[] = [{ ...subject.repo, ref: descriptor.digest, manifest: { body: manifest, json: JSON.parse(manifest.toString('utf8')) } }];
  let listed: number;
  if (referrers.supported) listed = referrers.manifests.length;
  else {
    const tag = referrersTag(subject.digest);
    const appended = await appendIndexDescriptors(ctx.registry, subject.repo, tag, [descriptor], { image });
    listed = appended.count;
    if (appended.manifest) readBack.push({ ...subject.repo, ref: tag, manifest: appended.manifest });
  }

  const bundlePath = path.join(ctx.bundleDir, bundleFileName(subject, 'bundle'));
  await fs.writeFile(bundlePath, `${JSON.stringify(bundle, null, 2)}\n`);

  return {
    image,
    digest: subject.digest,
    format: 'bundle',
    reference: `${subject.dockerReference}@${descriptor.digest}`,
    rekor: logged,
    bundlePath,
    platform: subject.platform,
    notes: referrerCountNotes(listed),
    readBack,
  };
}
