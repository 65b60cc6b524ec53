/**
 * The "verifier" of a Rekor entry: a PEM certificate (chain) or PEM public key,
 * as clients send it base64-encoded. Rekor stores its canonical re-encoding
 * (Go's pem.Encode: 64-column base64, trailing newline), not the bytes sent,
 * so bodies differ from proposals that wrap PEM differently — as on real Rekor.
 */
import crypto from 'node:crypto';

export interface EntryVerifier {
  key: crypto.KeyObject;
  /** PEM as Rekor re-encodes it. */
  canonicalPem: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function pemBlock(type: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** Parses a verifier from its PEM text; throws an Error that says what is wrong. */
export function parseVerifierPem(pem: string): EntryVerifier {
  const blocks = [...pem.matchAll(PEM_BLOCK)].map(([, type, body]) => ({ type, der: Buffer.from(body.replace(/\s+/g, ''), 'base64') }));
  if (blocks.length === 0) throw new Error('the verifier is not PEM (expected a CERTIFICATE or PUBLIC KEY block)');
  if (blocks.every((b) => b.type === 'CERTIFICATE')) {
    let key: crypto.KeyObject;
    try {
      key = new crypto.X509Certificate(blocks[0].der).publicKey;
    } catch (err) {
      throw new Error(`the verifier certificate does not parse: ${(err as Error).message}`);
    }
    return { key, canonicalPem: blocks.map((b) => pemBlock('CERTIFICATE', b.der)).join('') };
  }
  if (blocks.length === 1 && blocks[0].type === 'PUBLIC KEY') {
    let key: crypto.KeyObject;
    try {
      key = crypto.createPublicKey({ key: blocks[0].der, format: 'der', type: 'spki' });
    } catch (err) {
      throw new Error(`the verifier public key does not parse: ${(err as Error).message}`);
    }
    return { key, canonicalPem: pemBlock('PUBLIC KEY', key.export({ format: 'der', type: 'spki' })) };
  }
  throw new Error(`unsupported verifier PEM block(s): ${blocks.map((b) => b.type).join(', ')}`);
}

/** Parses a verifier given as DER: a certificate, or a SubjectPublicKeyInfo (Rekor v2). */
export function parseVerifierDer(der: Buffer, kind: 'certificate' | 'publicKey'): EntryVerifier {
  return parseVerifierPem(kind === 'certificate' ? pemBlock('CERTIFICATE', der) : pemBlock('PUBLIC KEY', der));
}

/** Verifies a signature over data (not a digest) with the key's natural algorithm. */
export function verifyOverData(key: crypto.KeyObject, data: Buffer, signature: Buffer): boolean {
  const algorithm = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
  try {
    return crypto.verify(algorithm, data, key, signature);
  } catch {
    return false;
  }
}
