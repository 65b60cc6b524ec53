/**
 * The sandbox RFC 3161 timestamp authority: @sigstore/mock's TSA served on
 * `POST /api/v1/timestamp`, for both request styles of sigstore's
 * timestamp-authority — JSON (what sigstore-js sends) and DER
 * `application/timestamp-query` (what cosign and openssl send).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';
import { initializeTSA, tsaHandler } from '@sigstore/mock';
import { json, serve, type IncomingRequest, type Reply } from './serve.js';

export interface SandboxTsa {
  url: string;
  rootCertificate: Buffer;
  /** The timestamp signing certificate (the mock calls it the intermediate). */
  signingCertificate: Buffer;
  stop(): Promise<void>;
}

type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };
type Tsa = Awaited<ReturnType<typeof initializeTSA>>;
type TimestampRequest = Parameters<Tsa['timestamp']>[0] & { nonceBytes?: Buffer };

const OID_TSA_POLICY = '1.3.6.1.4.1.57264.2';
const DEFAULT_NONCE = 1234567890;

const toBuffer = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const toPem = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;

export async function startTsa(keyPair: KeyPair): Promise<SandboxTsa> {
  // The mock writes GeneralizedTime fractions without trailing zeros (".12Z"),
  // which @sigstore/core rejects; a clock held on a whole second has no fraction.
  const clock = new Date(Math.floor(Date.now() / 1000) * 1000);
  const tsa = await initializeTSA(keyPair, clock);
  repairTstInfo(tsa);
  const answerJson = tsaHandler(tsa, { strict: true }).fn;

  const timestamp = async (req: IncomingRequest): Promise<Reply> => {
    clock.setTime(Math.floor(Date.now() / 1000) * 1000);
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    const isJson = contentType.includes('json') || req.body.subarray(0, 1).toString() === '{';
    if (isJson) {
      const result = await answerJson(req.body.toString('utf8'));
      if (result.statusCode !== 201) return { status: 400, body: `invalid timestamp request: ${String(result.response)}` };
      return { status: 201, body: toBuffer(result.response as ArrayBufferView), contentType: 'application/timestamp-reply' };
    }
    let request: TimestampRequest;
    try {
      request = parseTimeStampReq(req.body);
    } catch (err) {
      return { status: 400, body: `invalid RFC 3161 TimeStampReq: ${(err as Error).message}` };
    }
    return { status: 201, body: toBuffer(await tsa.timestamp(request)), contentType: 'application/timestamp-reply' };
  };

  const rootCertificate = toBuffer(tsa.rootCertificate);
  const signingCertificate = toBuffer(tsa.intCertificate);
  const route = async (req: IncomingRequest): Promise<Reply> => {
    const path = req.url.pathname.replace(/\/+$/, '');
    if (path === '/api/v1/timestamp' && req.method === 'POST') return timestamp(req);
    if (path === '/api/v1/timestamp/certchain' && req.method === 'GET') {
      return { status: 200, body: toPem(signingCertificate) + toPem(rootCertificate), contentType: 'application/pem-certificate-chain' };
    }
    return json(404, { code: 404, message: `no such endpoint: ${req.method} ${req.url.pathname}` });
  };

  const server = await serve('timestamp authority', () => route);
  return { url: server.url, rootCertificate, signingCertificate, stop: () => server.stop() };
}

/**
 * TimeStampReq ::= SEQUENCE { version INTEGER, messageImprint SEQUENCE {
 * hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }, reqPolicy
 * OID OPTIONAL, nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE, ... }
 */
function parseTimeStampReq(der: Buffer): TimestampRequest {
  const req = ASN1Obj.parseBuffer(der as Buffer<ArrayBuffer>);
  const [version, imprint, ...optional] = req.subs;
  if (!version?.tag.isInteger() || version.toInteger() !== 1n) throw new Error('version is not 1');
  const [algorithm, hashed] = imprint?.subs ?? [];
  if (!algorithm || !hashed?.tag.isOctetString()) throw new Error('messageImprint is malformed');
  const request: TimestampRequest = {
    hashAlgorithmOID: algorithm.subs[0].toOID(),
    artifactHash: Buffer.from(hashed.value),
    nonce: DEFAULT_NONCE,
    policyOID: OID_TSA_POLICY,
    certReq: false,
  };
  for (const field of optional) {
    if (field.tag.isOID()) request.policyOID = field.toOID();
    else if (field.tag.isInteger()) {
      const nonce = field.toInteger();
      request.nonce = nonce <= BigInt(Number.MAX_SAFE_INTEGER) && nonce >= 0n ? Number(nonce) : 0;
      request.nonceBytes = Buffer.from(field.value);
    } else if (field.tag.isBoolean()) request.certReq = field.toBoolean();
  }
  return request;
}

/**
 * Two repairs to the TSTInfo the mock builds. It encodes the nonce from a JS
 * number, which mangles nonces wider than 53 bits (openssl sends 64-bit ones,
 * cosign 160-bit) and clients then reject the reply: put the request's exact
 * bytes back. And its serial is a fixed DEADBEEF that encodes as a negative
 * INTEGER: give each token a fresh positive serial, as real TSAs do.
 */
function repairTstInfo(tsa: Tsa): void {
  type TstInfo = { nonce?: object; serialNumber?: object };
  const impl = tsa as unknown as { tstInfo?: (req: TimestampRequest) => TstInfo };
  const original = impl.tstInfo;
  if (typeof original !== 'function') return; // mock internals changed: small nonces still work
  impl.tstInfo = (req: TimestampRequest): TstInfo => {
    const info = original.call(tsa, req);
    const IntegerType = info.serialNumber?.constructor as (new (params: { valueHex: Uint8Array }) => object) | undefined;
    if (!IntegerType) return info;
    const serial = randomBytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01; // positive, and minimal (no leading zero byte)
    info.serialNumber = new IntegerType({ valueHex: new Uint8Array(serial) });
    if (req.nonceBytes) info.nonce = new IntegerType({ valueHex: new Uint8Array(req.nonceBytes) });
    return info;
  };
}
