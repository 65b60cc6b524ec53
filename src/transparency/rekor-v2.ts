/**
 * A Rekor v2 (rekor-tiles) client, for custom instances that run only v2 and
 * for public-good's Rekor v2 opt-in: `POST /api/v2/log/entries`, answered with
 * the TransparencyLogEntry that goes into the bundle as it is. A DSSE envelope
 * is logged as rekor-tiles takes it since v2.3.0 (which dropped DSSE entries),
 * and as cosign ≥ 3.1 / sigstore-go ≥ 1.2 send it: a `hashedRekordRequestV002`
 * over the SHA-256 of the envelope's pre-authentication encoding (PAE), with
 * the signature and certificate (rekor-tiles CLIENTS.md, "DSSE / signed
 * attestations"). @sigstore/verify checks such an entry against the bundle's
 * envelope. v2 gives an inclusion proof but no signed entry timestamp and no
 * integrated time, so a bundle logged here needs an RFC 3161 timestamp for its
 * signing time, and legacy `.sig` signatures (whose annotation is the SET)
 * cannot use it.
 */
import crypto from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { ActionError } from '../errors.js';
import { jsonBody, request, type HttpResponse } from '../net/http.js';
import { preAuthEncoding, type DsseEnvelope, type TlogEntryJson } from '../formats/bundle.js';

export interface RekorV2Entry {
  json: TlogEntryJson;
  logIndex: number;
  /** Log id, hex (as Rekor v1 and our outputs write it). */
  logId: string;
  kind: string;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The answer's entry, or a description of what it lacks (zero values are absent in protobuf JSON). */
export function parseV2Entry(body: unknown): RekorV2Entry {
  const e = body as Partial<TlogEntryJson> | null;
  if (!e || !isString(e.logId?.keyId) || !isString(e.canonicalizedBody) || !isString(e.kindVersion?.kind)) {
    throw new Error('the answer is not a transparency-log entry (logId, kindVersion, canonicalizedBody)');
  }
  if (!isString(e.inclusionProof?.checkpoint?.envelope)) throw new Error('the entry has no inclusion proof with a checkpoint');
  const logIndex = Number(e.logIndex ?? '0');
  if (!Number.isSafeInteger(logIndex) || logIndex < 0) throw new Error(`the entry's logIndex ${String(e.logIndex)} is not an index`);
  // Written out in the bundle: readers that do Number(logIndex) should not meet an absent zero.
  const json = { ...(e as TlogEntryJson), logIndex: String(logIndex) };
  return { json, logIndex, logId: Buffer.from(e.logId.keyId, 'base64').toString('hex'), kind: e.kindVersion.kind };
}

/** The request for a DSSE envelope: a hashedrekord v0.0.2 over SHA-256(PAE), signed by the certificate's key. */
export function hashedRekordRequestForDsse(envelope: DsseEnvelope, certificatePem: string): object {
  const pae = preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
  return {
    hashedRekordRequestV002: {
      digest: crypto.createHash('sha256').update(pae).digest('base64'),
      signature: {
        content: envelope.signatures[0].sig,
        verifier: {
          x509Certificate: { rawBytes: Buffer.from(X509Certificate.parse(certificatePem).root.toDER()).toString('base64') },
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        },
      },
    },
  };
}

export class RekorV2Client {
  requests = 0;

  constructor(readonly baseUrl: string) {}

  async createDsseEntry(envelope: DsseEnvelope, certificatePem: string, image?: string): Promise<RekorV2Entry> {
    this.requests++;
    const res = await request({
      method: 'POST',
      url: `${this.baseUrl}/api/v2/log/entries`,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(hashedRekordRequestForDsse(envelope, certificatePem)),
      // rekor-tiles answers once the entry is integrated (seconds): allow for it.
      timeoutMs: 60_000,
    });
    if (res.status !== 200 && res.status !== 201) throw this.failure(res, image);
    try {
      return parseV2Entry(jsonBody(res));
    } catch (err) {
      throw new ActionError(`Rekor v2 (${this.baseUrl}) sent an unusable answer: ${(err as Error).message}`, {
        image,
        fix: 'check that `rekor-url` points at a Rekor v2 (rekor-tiles) API',
        cause: err,
      });
    }
  }

  private failure(res: HttpResponse, image?: string): ActionError {
    const detail = res.body.toString('utf8').slice(0, 300).trim();
    return new ActionError(`Rekor v2 (${this.baseUrl}) refused the log entry: HTTP ${res.status} ${detail}`, {
      image,
      fix:
        res.status >= 500 || res.status === 429
          ? 'the transparency log is unavailable; re-run the job later — nothing was attached for this image'
          : 'check `rekor-url` (a Rekor v2 API)',
    });
  }
}

/**
 * Which Rekor API `rekorUrl` serves: 1 when `GET /api/v1/log` answers, else 2
 * when `GET /api/v2/checkpoint` does (rekor-tiles has no v1 routes).
 */
export async function rekorApiVersion(rekorUrl: string): Promise<1 | 2> {
  const probe = (path: string): Promise<boolean> =>
    request({ url: `${rekorUrl}${path}`, timeoutMs: 15_000 }).then(
      (r) => r.status === 200,
      (err: unknown) => {
        throw new ActionError(`could not reach Rekor: ${(err as Error).message}`, { input: 'rekor-url', fix: 'check `rekor-url`', cause: err });
      },
    );
  if (await probe('/api/v1/log')) return 1;
  if (await probe('/api/v2/checkpoint')) return 2;
  throw new ActionError(`${rekorUrl} answers neither the Rekor v1 API (/api/v1/log) nor Rekor v2 (/api/v2/checkpoint)`, {
    input: 'rekor-url',
    fix: 'set `rekor-url` to the base URL of the Rekor instance (without /api/...)',
  });
}
