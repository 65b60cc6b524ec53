/**
 * ECDSA P-256 verification over a digest. Real Rekor checks a hashedrekord
 * signature against the submitted hash, never the artifact; node:crypto can
 * only verify over data it hashes itself, so the curve arithmetic is done here
 * (BigInt, Jacobian coordinates: slow-ish but only a few ms per entry).
 */
import type crypto from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

/** Jacobian point (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Point = [bigint, bigint, bigint];
const INFINITY: Point = [0n, 1n, 0n];

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** Inverse modulo a prime (Fermat). */
const modInv = (a: bigint, m: bigint): bigint => modPow(a, m - 2n, m);

function double([x, y, z]: Point): Point {
  if (z === 0n || y === 0n) return INFINITY;
  // dbl-2001-b, for curves with a = -3 (P-256).
  const delta = mod(z * z, P);
  const gamma = mod(y * y, P);
  const beta = mod(x * gamma, P);
  const alpha = mod(3n * (x - delta) * (x + delta), P);
  const x3 = mod(alpha * alpha - 8n * beta, P);
  const z3 = mod((y + z) * (y + z) - gamma - delta, P);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, P);
  return [x3, y3, z3];
}

function add(p1: Point, p2: Point): Point {
  if (p1[2] === 0n) return p2;
  if (p2[2] === 0n) return p1;
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  const z1z1 = mod(z1 * z1, P);
  const z2z2 = mod(z2 * z2, P);
  const u1 = mod(x1 * z2z2, P);
  const u2 = mod(x2 * z1z1, P);
  const s1 = mod(y1 * z2 * z2z2, P);
  const s2 = mod(y2 * z1 * z1z1, P);
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  if (h === 0n) return r === 0n ? double(p1) : INFINITY;
  const hh = mod(h * h, P);
  const hhh = mod(h * hh, P);
  const v = mod(u1 * hh, P);
  const x3 = mod(r * r - hhh - 2n * v, P);
  const y3 = mod(r * (v - x3) - s1 * hhh, P);
  const z3 = mod(z1 * z2 * h, P);
  return [x3, y3, z3];
}

function multiply(point: Point, scalar: bigint): Point {
  let result = INFINITY;
  let addend = point;
  let k = scalar;
  while (k > 0n) {
    if (k & 1n) result = add(result, addend);
    addend = double(addend);
    k >>= 1n;
  }
  return result;
}

const fromB64url = (s: string | undefined): bigint => BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex') || '0'}`);

/** True when the key is an EC P-256 key, the only kind verifyPrehashed() handles. */
export function isP256(key: crypto.KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** Verifies a DER ECDSA signature over `digest` with a P-256 public key. */
export function verifyPrehashed(key: crypto.KeyObject, digest: Buffer, signatureDer: Buffer): boolean {
  if (!isP256(key)) throw new Error('only ECDSA P-256 keys can be checked against a bare digest here');
  let r: bigint;
  let s: bigint;
  try {
    const seq = ASN1Obj.parseBuffer(signatureDer as Buffer<ArrayBuffer>);
    if (seq.subs.length !== 2) return false;
    r = seq.subs[0].toInteger();
    s = seq.subs[1].toInteger();
  } catch {
    return false;
  }
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  let e = BigInt(`0x${digest.toString('hex') || '0'}`);
  if (digest.length > 32) e >>= BigInt(8 * (digest.length - 32));
  const jwk = key.export({ format: 'jwk' });
  const q: Point = [fromB64url(jwk.x), fromB64url(jwk.y), 1n];
  const w = modInv(s, N);
  const sum = add(multiply([GX, GY, 1n], mod(e * w, N)), multiply(q, mod(r * w, N)));
  if (sum[2] === 0n) return false;
  const zInv = modInv(sum[2], P);
  const x = mod(sum[0] * zInv * zInv, P);
  return mod(x, N) === r;
}
