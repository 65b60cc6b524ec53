/**
 * The RFC 3161 client: the DER request it sends (read back with an ASN.1
 * parser), a real answer from the sandbox TSA whose token verifies over the
 * signature bytes, and the answers it must refuse (other data, replayed nonce,
 * HTTP errors), each naming `tsa-url`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ASN1Obj, RFC3161Timestamp } from '@sigstore/core';
import { checkTimestampResponse, newNonce, timeStampRequest, TimestampClient } from '../../src/transparency/tsa.js';
import { startTsa, type SandboxTsa } from '../../sandbox/sigstore/tsa.js';

const sha256 = (b: Buffer): Buffer => crypto.createHash('sha256').update(b).digest();

let tsa: SandboxTsa;
beforeAll(async () => {
  tsa = await startTsa(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
});
afterAll(() => tsa?.stop());

/** A server answering every request with `answer(body)`. */
async function fakeTsa(answer: (body: Buffer) => Promise<{ status: number; body: Buffer }>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void answer(Buffer.concat(chunks)).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/timestamp-reply' });
        res.end(body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/v1/timestamp`, close: () => new Promise((r) => server.close(() => r())) };
}

async function askSandbox(body: Buffer): Promise<Buffer> {
  const res = await fetch(`${tsa.url}/api/v1/timestamp`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: new Uint8Array(body) });
  return Buffer.from(await res.arrayBuffer());
}

describe('TimeStampReq', () => {
  it('is version 1, a sha256 imprint of the data, our nonce, certReq TRUE', () => {
    const hash = sha256(Buffer.from('signature bytes'));
    const nonce = newNonce();
    const req = ASN1Obj.parseBuffer(timeStampRequest(hash, nonce) as Buffer<ArrayBuffer>);
    const [version, imprint, n, certReq] = req.subs;
    expect(version.toInteger()).toBe(1n);
    expect(imprint.subs[0].subs[0].toOID()).toBe('2.16.840.1.101.3.4.2.1');
    expect(Buffer.from(imprint.subs[1].value).equals(hash)).toBe(true);
    expect(Buffer.from(n.value).equals(nonce)).toBe(true);
    expect(n.toInteger()).toBeGreaterThan(0n);
    expect(certReq.toBoolean()).toBe(true);
  });

  it('nonces are positive, minimal and fresh', () => {
    const nonces = Array.from({ length: 50 }, newNonce);
    for (const n of nonces) expect(n[0] >= 1 && n[0] < 0x80).toBe(true);
    expect(new Set(nonces.map((n) => n.toString('hex'))).size).toBe(50);
  });
});

describe('TimestampClient', () => {
  it('gets a granted token over the exact data from an RFC 3161 TSA, verifiable with its key', async () => {
    const data = Buffer.from('the raw signature bytes');
    const client = new TimestampClient(`${tsa.url}/api/v1/timestamp`);
    const before = Math.floor(Date.now() / 1000) * 1000;
    const { response, genTime } = await client.timestamp(data);
    const ts = RFC3161Timestamp.parse(response as Buffer<ArrayBuffer>);
    expect(ts.status).toBe(0n);
    expect(genTime.getTime()).toBeGreaterThanOrEqual(before);
    const signer = new crypto.X509Certificate(tsa.signingCertificate).publicKey;
    expect(() => ts.verify(data, signer)).not.toThrow();
    expect(() => ts.verify(Buffer.from('other data'), signer)).toThrow();
  });

  it('refuses a token for other data', async () => {
    const forOther = await askSandbox(timeStampRequest(sha256(Buffer.from('other')), newNonce()));
    const server = await fakeTsa(async () => ({ status: 201, body: forOther }));
    try {
      await expect(new TimestampClient(server.url).timestamp(Buffer.from('ours'), 'reg/app@sha256:1')).rejects.toThrow(
        /reg\/app@sha256:1, input `tsa-url`: .*covers other data/,
      );
    } finally {
      await server.close();
    }
  });

  it('refuses a replayed token (same data, another nonce)', async () => {
    const data = Buffer.from('ours');
    const replayed = await askSandbox(timeStampRequest(sha256(data), newNonce()));
    const server = await fakeTsa(async () => ({ status: 201, body: replayed }));
    try {
      await expect(new TimestampClient(server.url).timestamp(data)).rejects.toThrow(/nonce/);
    } finally {
      await server.close();
    }
    expect(() => checkTimestampResponse(replayed, sha256(data), newNonce())).toThrow(/nonce/);
  });

  it('reports an HTTP refusal with the status, the TSA answer and the fix', async () => {
    const server = await fakeTsa(async () => ({ status: 400, body: Buffer.from('invalid content type') }));
    try {
      const err = await new TimestampClient(server.url).timestamp(Buffer.from('x')).catch((e: Error) => e);
      expect((err as Error).message).toMatch(/HTTP 400 invalid content type/);
      expect((err as Error).message).toMatch(/Fix: check that `tsa-url` is the timestamp authority's base URL .* or its full RFC 3161 endpoint/);
    } finally {
      await server.close();
    }
  });

  it('reports an unreachable TSA naming the input', async () => {
    const server = await fakeTsa(async () => ({ status: 201, body: Buffer.alloc(0) }));
    const url = server.url;
    await server.close();
    const client = new TimestampClient(url);
    const err = await client.timestamp(Buffer.from('x')).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/input `tsa-url`: could not reach the timestamp authority/);
  }, 90_000);
});
