/**
 * One legacy (cosign `.sig`) signature: payload → signature → Rekor
 * hashedrekord → layer appended losslessly to `sha256-<hex>.sig`.
 * The payload blob is pushed first: it proves we may write to the repository
 * before anything is published in the transparency log.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex, signatureConfig, signatureLayer, signatureTag, simpleSigningPayload } from '../formats/legacy.js';
import { messageSignatureBundle } from '../formats/message-bundle.js';
import { assertWithinValidity, type EphemeralSigner } from '../identity/certificate.js';
import { appendLayers } from '../registry/append.js';
import type { Manifest, RegistryClient } from '../registry/client.js';
import type { Subject } from '../subjects/resolve.js';
import { entryUrl, hashedRekordProposal, type RekorClient } from '../transparency/rekor.js';
import type { TimestampClient } from '../transparency/tsa.js';
import type { SignatureRecord } from './types.js';

export interface SigningContext {
  signer: EphemeralSigner;
  rekor: RekorClient;
  registry: RegistryClient;
  annotations: Record<string, string>;
  bundleDir: string;
  instance: 'public-good' | 'custom';
  /** Set when `tsa-url` is: each signature also gets an RFC 3161 timestamp over its bytes. */
  tsa?: TimestampClient;
}

export function bundleFileName(subject: Subject, format: string): string {
  const repo = `${subject.repo.registry}/${subject.repo.repository}`.replace(/[^a-zA-Z0-9._-]+/g, '_');
  return `${repo}_${subject.digest.replace(':', '-').slice(0, 19)}.${format}.sigstore.json`;
}

/** `likely`: what the `.sig` tag held a moment ago, when the caller read it (if-signed: skip). */
export async function signLegacy(subject: Subject, ctx: SigningContext, likely?: Manifest | null): Promise<SignatureRecord> {
  const image = `${subject.dockerReference}@${subject.digest}`;
  const payload = simpleSigningPayload(subject.dockerReference, subject.digest, ctx.annotations);
  // The upload (a mount request when the payload is there already) is the proof of write access we want before logging.
  const uploaded = await ctx.registry.uploadBlob(subject.repo, payload);
  // The payload is the same for every signature of this digest and annotations: when it is new,
  // the digest was most likely never signed, and the .sig config is prepared for our layer alone.
  const guess = likely !== undefined ? likely : uploaded.existed ? undefined : null;

  const cert = await ctx.signer.certificate();
  const signature = ctx.signer.sign(payload);
  const signatureB64 = signature.toString('base64');
  // cosign's --timestamp-server-url: the imprint covers the raw signature bytes.
  const timestamp = ctx.tsa ? await ctx.tsa.timestamp(signature, image) : undefined;
  // Retries stop when the certificate expires: an entry logged after that would not verify.
  const proposal = hashedRekordProposal(sha256Hex(payload), signatureB64, cert.leafPem);
  const entry = await ctx.rekor.createEntry(proposal, image, { deadline: cert.notAfter.getTime() });
  assertWithinValidity('the transparency log recorded the signature at', new Date(entry.integratedTime * 1000), cert, image);
  if (timestamp) assertWithinValidity('the timestamp authority dated the signature', timestamp.genTime, cert, image);

  const rfc3161TimestampB64 = timestamp?.response.toString('base64');
  const layer = signatureLayer({ payload, signatureB64, certificatePem: cert.leafPem, chainPems: cert.chainPems, rekor: entry, rfc3161TimestampB64 });
  const tag = signatureTag(subject.digest);
  const appended = await appendLayers(ctx.registry, subject.repo, tag, [{ descriptor: layer, blob: payload }], (layers) => signatureConfig(layers), {
    image,
    blobsPresent: true,
    likely: guess,
  });

  const bundlePath = path.join(ctx.bundleDir, bundleFileName(subject, 'legacy'));
  const bundle = messageSignatureBundle({ payloadSha256Hex: sha256Hex(payload), signatureB64, certificatePem: cert.leafPem, rekor: entry, rfc3161TimestampB64 });
  await fs.writeFile(bundlePath, `${JSON.stringify(bundle, null, 2)}\n`);

  return {
    image,
    digest: subject.digest,
    format: 'legacy',
    reference: `${subject.dockerReference}:${tag}`,
    rekor: {
      logIndex: entry.logIndex,
      logId: entry.logId,
      integratedTime: entry.integratedTime,
      uuid: entry.uuid,
      url: entryUrl(ctx.instance, ctx.rekor.baseUrl, entry.logIndex),
      kind: entry.kind,
    },
    bundlePath,
    platform: subject.platform,
    readBack: appended.manifest ? [{ ...subject.repo, ref: tag, manifest: appended.manifest }] : undefined,
  };
}
