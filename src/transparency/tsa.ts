/**
 * An RFC 3161 timestamp client. The request is DER `application/timestamp-query`
 * (what cosign and openssl send; every RFC 3161 TSA speaks it, unlike the JSON
 * form only Sigstore's timestamp-authority accepts). The answer's TimeStampResp
 * is kept whole: that is what a bundle's `signedTimestamp` holds. Its signature
 * is judged later by the verifier against the trusted root; here we only make
 * sure it is an answer to OUR question (granted, same imprint, same nonce).
 */
import crypto from 'node:crypto';
import { ASN1Obj, RFC3161Timestamp } from '@sigstore/core';
import { ActionError } from '../errors.js';
import { request } from '../net/http.js';

const OID_SHA256 = Buffer.from('0609608648016503040201', 'hex');

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), derLength(value.length), value]);
const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));

/** A positive nonce in minimal DER form: top bit clear, first byte non-zero. */
export function newNonce(): Buffer {
  const nonce = crypto.randomBytes(16);
  nonce[0] = (nonce[0] & 0x7f) | 0x01;
  return nonce;
}

/** TimeStampReq { version 1, messageImprint { sha256, hash }, nonce, certReq TRUE }. */
export function timeStampRequest(sha256: Buffer, nonce: Buffer): Buffer {
  return sequence(
    tlv(0x02, Buffer.from([1])),
    sequence(sequence(OID_SHA256, Buffer.from([0x05, 0x00])), tlv(0x04, sha256)),
    tlv(0x02, nonce),
    tlv(0x01, Buffer.from([0xff])),
  );
}

/** TSTInfo's nonce: the first INTEGER after genTime (accuracy and ordering may precede it). */
function tstNonce(tstInfo: ASN1Obj): Buffer | undefined {
  const field = tstInfo.subs.slice(5).find((s) => s.tag.isInteger());
  return field ? Buffer.from(field.value) : undefined;
}

export interface Timestamp {
  /** The TimeStampResp, DER, as the TSA sent it. */
  response: Buffer;
  genTime: Date;
}

/**
 * Checks that `der` answers a request for `sha256` with `nonce`; throws a
 * description of what is wrong otherwise.
 */
export function checkTimestampResponse(der: Buffer, sha256: Buffer, nonce: Buffer): Timestamp {
  const ts = RFC3161Timestamp.parse(der as Buffer<ArrayBuffer>);
  if (ts.status !== 0n && ts.status !== 1n) throw new Error(`the timestamp was not granted (PKIStatus ${ts.status})`);
  const info = ts.tstInfo;
  if (info.messageImprintHashAlgorithm !== 'sha256' || !info.messageImprintHashedMessage.equals(sha256)) {
    throw new Error('the timestamp covers other data than the signature sent');
  }
  const answered = tstNonce(info.root);
  if (!answered || !answered.equals(nonce)) throw new Error('the timestamp does not carry the nonce of our request (a replayed answer?)');
  return { response: der, genTime: ts.signingTime };
}

export class TimestampClient {
  requests = 0;

  constructor(readonly url: string) {}

  /** Timestamps `data` (for a signature: its raw bytes, as verifiers check). */
  async timestamp(data: Buffer, image?: string): Promise<Timestamp> {
    const digest = crypto.createHash('sha256').update(data).digest();
    const nonce = newNonce();
    this.requests++;
    const res = await request({
      method: 'POST',
      url: this.url,
      headers: { 'Content-Type': 'application/timestamp-query', Accept: 'application/timestamp-reply' },
      body: timeStampRequest(digest, nonce),
      timeoutMs: 30_000,
      maxBodyBytes: 1024 * 1024,
    }).catch((err: unknown) => {
      throw new ActionError(`could not reach the timestamp authority: ${(err as Error).message}`, {
        image,
        input: 'tsa-url',
        fix: 'check `tsa-url`, or leave it empty to sign without a timestamp',
        cause: err,
      });
    });
    if (res.status !== 200 && res.status !== 201) {
      const detail = res.body.toString('utf8').slice(0, 300).trim();
      throw new ActionError(`the timestamp authority (${this.url}) refused the request: HTTP ${res.status} ${detail}`, {
        image,
        input: 'tsa-url',
        fix:
          res.status >= 500 || res.status === 429
            ? 'the timestamp authority is unavailable; re-run the job later — nothing was attached for this image'
            : "check that `tsa-url` is the timestamp authority's base URL (https://timestamp.example, sent to /api/v1/timestamp) or its full RFC 3161 endpoint",
      });
    }
    try {
      return checkTimestampResponse(res.body, digest, nonce);
    } catch (err) {
      throw new ActionError(`the timestamp authority (${this.url}) sent an unusable answer: ${(err as Error).message}`, {
        image,
        input: 'tsa-url',
        fix: 'check that `tsa-url` points at an RFC 3161 timestamp endpoint',
        cause: err,
      });
    }
  }
}
