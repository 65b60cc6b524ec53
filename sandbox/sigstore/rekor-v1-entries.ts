/**
 * Rekor v1 proposed entry → the canonical body real Rekor stores, for
 * hashedrekord 0.0.1, dsse 0.0.1 and intoto 0.0.2 (sigstore/rekor
 * pkg/types/<kind>/<version>/entry.go: Unmarshal + Canonicalize). Like Rekor,
 * signatures are checked before anything is logged.
 */
import crypto from 'node:crypto';
import { dsse, json } from '@sigstore/core';
import { isP256, verifyPrehashed } from './ecdsa-prehashed.js';
import { parseVerifierPem, verifyOverData, type EntryVerifier } from './verifier-key.js';

/** A proposal Rekor refuses (HTTP 400) with this message. */
export class EntryError extends Error {}

type Json = Record<string, unknown>;

const HASH_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

const obj = (v: unknown, what: string): Json => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EntryError(`${what} is missing or not an object`);
  return v as Json;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v === '') throw new EntryError(`${what} is missing or not a string`);
  return v;
};
const b64 = (v: unknown, what: string): Buffer => {
  const s = str(v, what);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new EntryError(`${what} is not standard base64`);
  return Buffer.from(s, 'base64');
};
const sha256hex = (data: Buffer | string): string => crypto.createHash('sha256').update(data).digest('hex');

function verifierFromB64(v: unknown, what: string): EntryVerifier {
  try {
    return parseVerifierPem(b64(v, what).toString('utf8'));
  } catch (err) {
    if (err instanceof EntryError) throw err;
    throw new EntryError(`${what}: ${(err as Error).message}`);
  }
}

/** Returns the canonical body (RFC 8785 JSON bytes) for a proposed entry. */
export function canonicalizeV1(proposed: unknown): Buffer {
  const entry = obj(proposed, 'the proposed entry');
  const kind = str(entry.kind, 'kind');
  const apiVersion = str(entry.apiVersion, 'apiVersion');
  const spec = obj(entry.spec, 'spec');
  const body = (() => {
    if (kind === 'hashedrekord' && apiVersion === '0.0.1') return hashedRekord(spec);
    if (kind === 'dsse' && apiVersion === '0.0.1') return dsseEntry(spec);
    if (kind === 'intoto' && apiVersion === '0.0.2') return intotoEntry(spec);
    throw new EntryError(`kind ${kind} ${apiVersion} is not supported by this log (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2 are)`);
  })();
  return Buffer.from(json.canonicalize(body), 'utf8');
}

function hashedRekord(spec: Json): Json {
  const hash = obj(obj(spec.data, 'spec.data').hash, 'spec.data.hash');
  const algorithm = str(hash.algorithm, 'spec.data.hash.algorithm');
  const value = str(hash.value, 'spec.data.hash.value').toLowerCase();
  if (!(algorithm in HASH_HEX_LENGTH)) throw new EntryError(`spec.data.hash.algorithm ${algorithm} is not sha256, sha384 or sha512`);
  if (!/^[0-9a-f]+$/.test(value) || value.length !== HASH_HEX_LENGTH[algorithm]) throw new EntryError(`spec.data.hash.value is not a hex ${algorithm} digest`);
  const signature = obj(spec.signature, 'spec.signature');
  const content = str(signature.content, 'spec.signature.content');
  const sigBytes = b64(content, 'spec.signature.content');
  const verifier = verifierFromB64(obj(signature.publicKey, 'spec.signature.publicKey').content, 'spec.signature.publicKey.content');
  // Only P-256 can be checked against a bare digest here; other keys are logged unchecked.
  if (isP256(verifier.key) && !verifyPrehashed(verifier.key, Buffer.from(value, 'hex'), sigBytes)) {
    throw new EntryError('verifying signature: invalid signature when validating ASN.1 encoded signature');
  }
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm, value } },
      signature: { content, publicKey: { content: Buffer.from(verifier.canonicalPem).toString('base64') } },
    },
  };
}

interface ParsedEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: { sig: string; keyid?: string }[];
}

function parseEnvelope(text: string): ParsedEnvelope {
  let env: Json;
  try {
    env = obj(JSON.parse(text), 'the DSSE envelope');
  } catch (err) {
    throw err instanceof EntryError ? err : new EntryError('the DSSE envelope is not JSON');
  }
  const signatures = env.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) throw new EntryError('the DSSE envelope has no signatures');
  return {
    payloadType: str(env.payloadType, 'envelope.payloadType'),
    payload: b64(env.payload, 'envelope.payload'),
    signatures: signatures.map((s, i) => {
      const sig = obj(s, `envelope.signatures[${i}]`);
      return { sig: str(sig.sig, `envelope.signatures[${i}].sig`), keyid: typeof sig.keyid === 'string' ? sig.keyid : undefined };
    }),
  };
}

/** Which verifier checks a DSSE signature (PAE over type and payload); undefined if none. */
function matchVerifier(env: ParsedEnvelope, sig: string, verifiers: EntryVerifier[]): EntryVerifier | undefined {
  const pae = dsse.preAuthEncoding(env.payloadType, env.payload);
  return verifiers.find((v) => verifyOverData(v.key, pae, Buffer.from(sig, 'base64')));
}

function dsseEntry(spec: Json): Json {
  if (spec.envelopeHash || spec.payloadHash || spec.signatures) {
    throw new EntryError('either proposedContent or envelopeHash, payloadHash, and signatures must be present but not both');
  }
  const proposed = obj(spec.proposedContent, 'spec.proposedContent');
  const envelopeText = str(proposed.envelope, 'spec.proposedContent.envelope');
  if (!Array.isArray(proposed.verifiers) || proposed.verifiers.length === 0) throw new EntryError('spec.proposedContent.verifiers is empty');
  const verifiers = proposed.verifiers.map((v, i) => verifierFromB64(v, `spec.proposedContent.verifiers[${i}]`));
  const env = parseEnvelope(envelopeText);
  const signatures = env.signatures.map(({ sig }) => {
    const verifier = matchVerifier(env, sig, verifiers);
    if (!verifier) throw new EntryError('could not verify envelope: all signatures must have a key that verifies it');
    return { signature: sig, verifier: Buffer.from(verifier.canonicalPem).toString('base64') };
  });
  signatures.sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256hex(Buffer.from(envelopeText, 'utf8')) },
      payloadHash: { algorithm: 'sha256', value: sha256hex(env.payload) },
      signatures,
    },
  };
}

function intotoEntry(spec: Json): Json {
  const content = obj(spec.content, 'spec.content');
  const envelope = obj(content.envelope, 'spec.content.envelope');
  const hash = obj(content.hash, 'spec.content.hash');
  const hashAlgorithm = str(hash.algorithm, 'spec.content.hash.algorithm');
  const hashValue = str(hash.value, 'spec.content.hash.value');
  if (hashAlgorithm !== 'sha256' || !/^[0-9a-f]{64}$/.test(hashValue)) throw new EntryError('spec.content.hash is not a hex sha256 digest');
  // intoto 0.0.2 double-encodes: the fields hold base64 of the envelope's base64 strings.
  const payloadType = str(envelope.payloadType, 'spec.content.envelope.payloadType');
  const payload = Buffer.from(b64(envelope.payload, 'spec.content.envelope.payload').toString('utf8'), 'base64');
  if (!Array.isArray(envelope.signatures) || envelope.signatures.length === 0) throw new EntryError('spec.content.envelope.signatures is empty');
  const env: ParsedEnvelope = { payloadType, payload, signatures: [] };
  const signatures = envelope.signatures.map((s, i) => {
    const item = obj(s, `spec.content.envelope.signatures[${i}]`);
    const sig = b64(item.sig, `signatures[${i}].sig`).toString('utf8');
    const verifier = verifierFromB64(item.publicKey, `signatures[${i}].publicKey`);
    if (!matchVerifier(env, sig, [verifier])) throw new EntryError('could not verify envelope: all signatures must have a key that verifies it');
    return { ...(typeof item.keyid === 'string' && item.keyid ? { keyid: item.keyid } : {}), publicKey: item.publicKey, sig: item.sig };
  });
  return {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: { payloadType, signatures },
        hash: { algorithm: hashAlgorithm, value: hashValue },
        payloadHash: { algorithm: 'sha256', value: sha256hex(payload) },
      },
    },
  };
}
