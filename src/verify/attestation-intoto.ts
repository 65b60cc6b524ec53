/**
 * `.att` layers logged as Rekor `intoto` 0.0.1, which cosign wrote for every
 * attestation before 2.2 and writes with `--rekor-entry-type intoto`
 * (attestations.md §1.6). @sigstore/verify cannot match that kind to an
 * envelope ("unsupported intoto version"), but refuses it only after checking
 * everything else (dist/verifier.js: timestamps, the certificate with its
 * SCT at the log's time, then per entry the signed entry timestamp, then the
 * body, then the signature). So we accept that one refusal and check the body
 * and signature ourselves, as Rekor's intoto v0.0.1 type defines the entry
 * (pkg/types/intoto/v0.0.1): the payload's hash, the signer (the certificate),
 * and the DSSE signature over the pre-authentication encoding. The envelope's
 * hash is checked by the caller, for every kind.
 */
import crypto from 'node:crypto';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { Verifier, toSignedEntity, type SignedEntity } from '@sigstore/verify';
import type { IdentityPolicy } from '../config-types.js';
import { describeCertificate } from '../identity/certificate.js';
import { failed, identityVerdict, verifyBundle, type SignatureVerdict } from './check.js';
import { logSignerMismatch } from './log-signer.js';
import type { Trust } from './trust.js';

const UNSUPPORTED = /unsupported intoto version: 0\.0\.1/;

/** `bundle`: a v0.1 bundle of the DSSE envelope and its intoto 0.0.1 entry (with its promise). */
export function verifyIntotoV001(bundle: SerializedBundle, trust: Trust, policy: IdentityPolicy, base: Omit<SignatureVerdict, 'ok'>): SignatureVerdict {
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundleFromJSON(bundle));
  } catch (err) {
    return failed(base, 'malformed', `cannot verify: ${(err as Error).message}`);
  }
  try {
    new Verifier(trust.material, { tlogThreshold: 1, ctlogThreshold: 1 }).verify(entity);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // Any other failure came before the body: judged and worded as for every signature.
    if (!(e?.code === 'TLOG_BODY_ERROR' && UNSUPPORTED.test(e.message ?? ''))) return verifyBundle(bundle, undefined, trust, policy, base);
  }
  const raw = (bundle.verificationMaterial as { x509CertificateChain?: { certificates?: { rawBytes?: string }[] } }).x509CertificateChain?.certificates?.[0]?.rawBytes;
  const entry = bundle.verificationMaterial?.tlogEntries?.[0];
  if (!raw || !entry) return failed(base, 'malformed', 'the attestation carries no certificate or log entry');
  const leaf = X509Certificate.parse(Buffer.from(raw, 'base64'));
  const cert = describeCertificate(leaf);
  const described = { ...base, identity: cert.identity, issuer: cert.issuer };
  const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString('utf8')) as { spec?: { content?: { payloadHash?: { value?: string } } } };
  const payload = Buffer.from((bundle as { dsseEnvelope?: { payload?: string } }).dsseEnvelope?.payload ?? '', 'base64');
  if (body.spec?.content?.payloadHash?.value !== crypto.createHash('sha256').update(payload).digest('hex')) {
    return failed(described, 'log-proof', 'the transparency-log entry is for another statement (its payload hash differs)');
  }
  const mismatch = logSignerMismatch(entry.canonicalizedBody, leaf);
  if (mismatch) return failed(described, 'log-proof', mismatch);
  const key = crypto.createPublicKey({ key: Buffer.from(leaf.publicKey), format: 'der', type: 'spki' });
  if (!entity.signature.verifySignature(key)) return failed(described, 'signature', 'signature does not match the signed statement');
  return identityVerdict(described, cert, policy);
}
