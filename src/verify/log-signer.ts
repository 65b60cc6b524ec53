/**
 * The signer a transparency-log entry names must be the signature's own
 * certificate. @sigstore/verify compares only the signature and the digest in
 * the entry's body (dist/tlog/hashedrekord.js, dsse.js), so an entry holding a
 * bare public key, or another certificate for the same key, passes it. cosign
 * (pkg/cosign/verify.go, comparePublicKey), sigstore-go (pkg/verify/tlog.go,
 * CompareKey; for Rekor v2 the entry hash is rebuilt from the bundle's
 * certificate) and containers/image compare the signer too, and reject it.
 */
import { X509Certificate } from '@sigstore/core';

/** What the entry names as its signer: DER of a certificate, or of a bare public key (SPKI). */
interface LoggedSigner {
  der: Buffer<ArrayBuffer>;
  certificate: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The first PEM block of base64-encoded PEM text (Rekor v1 stores verifiers that way). */
function fromPemB64(b64: unknown): LoggedSigner | undefined {
  if (typeof b64 !== 'string') return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const block = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!block) return undefined;
  return { der: Buffer.from(block[2].replace(/\s+/g, ''), 'base64'), certificate: block[1] === 'CERTIFICATE' };
}

/** Rekor v2's `Verifier` message: raw DER of a certificate or a public key. */
function fromV2Verifier(verifier: Json): LoggedSigner | undefined {
  const cert = verifier?.x509Certificate?.rawBytes;
  if (typeof cert === 'string') return { der: Buffer.from(cert, 'base64'), certificate: true };
  const key = verifier?.publicKey?.rawBytes;
  if (typeof key === 'string') return { der: Buffer.from(key, 'base64'), certificate: false };
  return undefined;
}

/** The signer of a canonicalized entry body, for the kinds @sigstore/verify accepts. */
function loggedSigner(body: Json): LoggedSigner | undefined {
  const spec = body?.spec;
  switch (`${body?.kind}/${body?.apiVersion}`) {
    case 'hashedrekord/0.0.1':
      return fromPemB64(spec?.signature?.publicKey?.content);
    case 'dsse/0.0.1':
      return fromPemB64(spec?.signatures?.[0]?.verifier);
    case 'intoto/0.0.1':
      return fromPemB64(spec?.publicKey);
    case 'intoto/0.0.2':
      return fromPemB64(spec?.content?.envelope?.signatures?.[0]?.publicKey);
    case 'hashedrekord/0.0.2':
      return fromV2Verifier(spec?.hashedRekordV002?.signature?.verifier);
    case 'dsse/0.0.2':
      return fromV2Verifier(spec?.dsseV002?.signatures?.[0]?.verifier);
    default:
      return undefined;
  }
}

function sameKey(der: Buffer<ArrayBuffer>, leaf: X509Certificate): boolean {
  try {
    return Buffer.from(X509Certificate.parse(der).publicKey).equals(Buffer.from(leaf.publicKey));
  } catch {
    return false;
  }
}

/**
 * Why the entry's signer is not `leaf`, or undefined when it is. Called only
 * after @sigstore/verify accepted the entry (so its body is the logged one).
 */
export function logSignerMismatch(canonicalizedBodyB64: string | undefined, leaf: X509Certificate): string | undefined {
  let body: Json;
  try {
    body = JSON.parse(Buffer.from(canonicalizedBodyB64 ?? '', 'base64').toString('utf8'));
  } catch {
    return 'the transparency-log entry body is not readable, so it cannot show who signed';
  }
  const signer = loggedSigner(body);
  const rejected = 'cosign and sigstore-go reject a log entry that does not name the signing certificate itself';
  if (!signer) return `the transparency-log entry (${body?.kind ?? 'unknown kind'} ${body?.apiVersion ?? ''}) names no signer; ${rejected}`;
  if (!signer.certificate) return `the transparency-log entry names a bare public key, not the signing certificate; ${rejected}`;
  if (signer.der.equals(Buffer.from(leaf.root.toDER()))) return undefined;
  const which = sameKey(signer.der, leaf) ? 'another certificate for the same key' : 'the certificate of another key';
  return `the transparency-log entry names ${which}, not the signature's certificate; ${rejected}`;
}
