/**
 * `if-signed: skip`: before signing a digest in a format, look for a signature
 * in that format by this very identity (the run's certificate SAN and issuer)
 * that verifies for the digest, with the verify code of verify mode. When one
 * does, it is reported in place of a new one (its log entry in the outputs,
 * `skipped` on the record) and nothing is written: re-runs and rebuilds of a
 * reproducible image stay under the limits verifiers read (50 referrers in
 * Kyverno, 1000 `.sig` layers in cosign).
 *
 * Read, then write: two runs at once may each find none and each write one.
 * The append that follows is the usual lossless one, so neither loses a signature.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SerializedBundle } from '@sigstore/bundle';
import { ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_RFC3161, ANNOTATION_SIGNATURE, SIMPLE_SIGNING_MEDIA_TYPE, sha256Hex, signatureTag, type LayerDescriptor } from '../formats/legacy.js';
import { messageSignatureBundle } from '../formats/message-bundle.js';
import { describeCertificate, type SigningCertificate } from '../identity/certificate.js';
import type { Manifest, RegistryClient } from '../registry/client.js';
import type { Subject } from '../subjects/resolve.js';
import { entryUrl } from '../transparency/rekor.js';
import { judgeReferrer, listReferrers } from '../verify/bundle.js';
import type { SignatureVerdict } from '../verify/check.js';
import { entryFromAnnotation, MAX_SIGNATURE_LAYERS, verifyLegacyLayer } from '../verify/legacy.js';
import type { Trust } from '../verify/trust.js';
import { bundleFileName } from './legacy.js';
import type { LogEntryRef, SignatureRecord } from './types.js';

export interface ExistingContext {
  registry: RegistryClient;
  /** Needed even with `verify: false`: an existing signature counts only if it verifies. */
  trust: Promise<Trust>;
  cert: SigningCertificate;
  instance: 'public-good' | 'custom';
  rekorUrl: string;
  bundleDir: string;
}

export interface Existing {
  /** Our signature, already there: report it and write nothing. */
  record?: SignatureRecord;
  /** What the `.sig` tag held when we looked (null: no tag), for the append that follows. */
  likely?: Manifest | null;
}

const MAX_PAYLOAD_BYTES = 64 * 1024;

/**
 * The entry's UUID as the stored signature gives it: the Merkle leaf hash of the canonical
 * body (RFC 6962). Rekor returned it at creation behind the log shard's tree id, which the
 * signature does not carry; Rekor's API accepts either form.
 */
function leafHash(bodyB64: string): string {
  return createHash('sha256').update(Buffer.from([0])).update(Buffer.from(bodyB64, 'base64')).digest('hex');
}

/** Whether the layer's certificate names this identity and issuer (read locally, before fetching anything). */
function signedBy(layer: LayerDescriptor, cert: SigningCertificate): boolean {
  const pem = layer.annotations?.[ANNOTATION_CERTIFICATE];
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || !pem) return false;
  try {
    const { identity, issuer } = describeCertificate(pem);
    return identity === cert.identity && issuer === cert.issuer;
  } catch {
    return false;
  }
}

function record(subject: Subject, format: 'legacy' | 'bundle', reference: string, rekor: LogEntryRef, bundlePath: string, checked: SignatureVerdict): SignatureRecord {
  const image = `${subject.dockerReference}@${subject.digest}`;
  return { image, digest: subject.digest, format, reference, rekor, bundlePath, platform: subject.platform, skipped: true, checked };
}

async function existingLegacy(subject: Subject, ctx: ExistingContext): Promise<Existing> {
  const tag = signatureTag(subject.digest);
  const manifest = (await ctx.registry.getManifest(subject.repo, tag)) ?? null;
  const layers = ((manifest?.json as { layers?: LayerDescriptor[] } | undefined)?.layers ?? []);
  // cosign reads none of the signatures of a .sig past its limit: none of them counts.
  if (!manifest || layers.length > MAX_SIGNATURE_LAYERS) return { likely: manifest };
  const trust = await ctx.trust;
  const policy = { exact: ctx.cert.identity, issuer: ctx.cert.issuer };
  const reference = `${subject.repo.registry}/${subject.repo.repository}:${tag}`;
  for (const layer of layers.filter((l) => signedBy(l, ctx.cert))) {
    let payload: Buffer;
    try {
      payload = await ctx.registry.getBlob(subject.repo, layer.digest, MAX_PAYLOAD_BYTES);
    } catch {
      continue; // an unreadable layer is not a signature anyone can verify
    }
    const verdict = verifyLegacyLayer(layer, payload, subject.digest, trust, policy, reference);
    if (!verdict.ok) continue;
    const a = layer.annotations ?? {};
    const entry = entryFromAnnotation(a[ANNOTATION_BUNDLE]);
    const timestamp = a[ANNOTATION_RFC3161] ? (JSON.parse(a[ANNOTATION_RFC3161]) as { SignedRFC3161Timestamp?: string }).SignedRFC3161Timestamp : undefined;
    const bundle = messageSignatureBundle({
      payloadSha256Hex: sha256Hex(payload),
      signatureB64: a[ANNOTATION_SIGNATURE],
      certificatePem: a[ANNOTATION_CERTIFICATE],
      rekor: entry,
      rfc3161TimestampB64: timestamp,
    });
    const bundlePath = path.join(ctx.bundleDir, bundleFileName(subject, 'legacy'));
    await fs.writeFile(bundlePath, `${JSON.stringify(bundle, null, 2)}\n`);
    const rekor: LogEntryRef = {
      logIndex: entry.logIndex,
      logId: entry.logId,
      integratedTime: entry.integratedTime,
      uuid: leafHash(entry.body),
      url: entryUrl(ctx.instance, ctx.rekorUrl, entry.logIndex),
      kind: entry.kind,
    };
    return { record: record(subject, 'legacy', `${subject.dockerReference}:${tag}`, rekor, bundlePath, verdict), likely: manifest };
  }
  return { likely: manifest };
}

async function existingBundle(subject: Subject, ctx: ExistingContext): Promise<Existing> {
  const listed = await listReferrers(ctx.registry, subject.repo, subject.digest);
  const unique = [...new Map(listed.map((d) => [d.digest, d])).values()].slice(0, MAX_SIGNATURE_LAYERS);
  if (!unique.length) return {};
  const trust = await ctx.trust;
  const policy = { exact: ctx.cert.identity, issuer: ctx.cert.issuer };
  for (const referrer of unique) {
    let judged: { ours?: SignatureVerdict; bundle?: SerializedBundle };
    try {
      judged = await judgeReferrer(ctx.registry, subject.repo, subject.digest, referrer, trust, policy);
    } catch {
      continue; // one unreadable referrer does not hide the others
    }
    const tlog = judged.bundle?.verificationMaterial?.tlogEntries?.[0];
    if (!judged.ours?.ok || !judged.bundle || !tlog) continue;
    const bundlePath = path.join(ctx.bundleDir, bundleFileName(subject, 'bundle'));
    await fs.writeFile(bundlePath, `${JSON.stringify(judged.bundle, null, 2)}\n`);
    const logIndex = Number(tlog.logIndex);
    const rekor: LogEntryRef = {
      logIndex,
      logId: Buffer.from(tlog.logId?.keyId ?? '', 'base64').toString('hex'),
      integratedTime: Number(tlog.integratedTime),
      uuid: tlog.canonicalizedBody ? leafHash(tlog.canonicalizedBody) : '',
      url: entryUrl(ctx.instance, ctx.rekorUrl, logIndex),
      kind: tlog.kindVersion?.kind ?? '',
    };
    return { record: record(subject, 'bundle', `${subject.dockerReference}@${referrer.digest}`, rekor, bundlePath, judged.ours) };
  }
  return {};
}

/** Our verified signature of `subject` in `format`, if one is stored already. */
export function findExisting(subject: Subject, format: 'legacy' | 'bundle', ctx: ExistingContext): Promise<Existing> {
  return format === 'legacy' ? existingLegacy(subject, ctx) : existingBundle(subject, ctx);
}
