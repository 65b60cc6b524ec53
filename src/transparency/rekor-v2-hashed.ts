/**
 * Attestations on Rekor v2 are logged as `hashedrekord` v0.0.2 over the
 * digest of the DSSE pre-authentication encoding, as sigstore-go ≥ 1.2 and
 * cosign ≥ 3.1 do: rekor-tiles dropped DSSE entries in v2.3.0 because large
 * SBOM envelopes crashed servers (attestations.md §1.6). Only the digest and
 * the signature travel, so the predicate's size does not matter to the log.
 * @sigstore/verify checks such an entry against a DSSE bundle
 * (DSSESignatureContent.compareSignedDigest).
 */
import crypto from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { ActionError } from '../errors.js';
import { jsonBody, request } from '../net/http.js';
import { parseV2Entry, type RekorV2Client, type RekorV2Entry } from './rekor-v2.js';

export function hashedRekordRequestV002(signedBytes: Buffer, signature: Buffer, certificatePem: string): object {
  return {
    hashedRekordRequestV002: {
      digest: crypto.createHash('sha256').update(signedBytes).digest('base64'),
      signature: {
        content: signature.toString('base64'),
        verifier: {
          x509Certificate: { rawBytes: Buffer.from(X509Certificate.parse(certificatePem).root.toDER()).toString('base64') },
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        },
      },
    },
  };
}

/** Logs the signature over `signedBytes` (the PAE) in the Rekor v2 log of `client`. */
export async function createHashedRekordEntryV2(
  client: RekorV2Client,
  signedBytes: Buffer,
  signature: Buffer,
  certificatePem: string,
  image?: string,
): Promise<RekorV2Entry> {
  client.requests++;
  const res = await request({
    method: 'POST',
    url: `${client.baseUrl}/api/v2/log/entries`,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(hashedRekordRequestV002(signedBytes, signature, certificatePem)),
    timeoutMs: 60_000,
  });
  if (res.status !== 200 && res.status !== 201) {
    const detail = res.body.toString('utf8').slice(0, 300).trim();
    throw new ActionError(`Rekor v2 (${client.baseUrl}) refused the attestation's log entry: HTTP ${res.status} ${detail}`, {
      image,
      fix: res.status >= 500 || res.status === 429 ? 'the transparency log is unavailable; re-run the job later' : 'check `rekor-url` (a Rekor v2 API)',
    });
  }
  try {
    return parseV2Entry(jsonBody(res));
  } catch (err) {
    throw new ActionError(`Rekor v2 (${client.baseUrl}) sent an unusable answer: ${(err as Error).message}`, { image, cause: err });
  }
}
