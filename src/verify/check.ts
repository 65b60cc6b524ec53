/**
 * The verdict on one signature, with a one-line reason a person can act on.
 * Shared by the sign self-check and verify mode, for both formats.
 *
 * @sigstore/verify checks, in this order: RFC 3161 timestamps, the certificate
 * chain (and SCT) at the log's time, the log's promise/proof, the log entry's
 * body against the signature, then the signature itself. Its error codes are mapped onto the
 * reasons of issue 5; where a code is ambiguous (a body mismatch can be a
 * changed payload or a log entry of another signature) we look again.
 */
import crypto from 'node:crypto';
import { Verifier, toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import type { IdentityPolicy } from '../config-types.js';
import { X509Certificate } from '@sigstore/core';
import { describeCertificate } from '../identity/certificate.js';
import { logSignerMismatch } from './log-signer.js';
import { describePolicy, identityMatcher } from './policy.js';
import type { Trust } from './trust.js';

/**
 * Why a signature failed. `unreadable`: the registry could not be read, so
 * nothing was judged (verify mode reports it per image rather than failing all).
 */
export type FailureKind =
  | 'none-found'
  | 'identity'
  | 'issuer'
  | 'chain'
  | 'log-proof'
  | 'signature'
  | 'digest-claim'
  | 'predicate-type'
  | 'malformed'
  | 'unreadable';

export interface SignatureVerdict {
  ok: boolean;
  format: 'legacy' | 'bundle';
  /** Where the signature lives (`repo:sha256-….sig` or `repo@sha256:…`). */
  reference: string;
  identity?: string;
  issuer?: string;
  logIndex?: number;
  /** The log that recorded it (hex key id): verify mode names that log in the policies it prints. */
  logId?: string;
  integratedTime?: number;
  failure?: FailureKind;
  reason?: string;
  /** Something a verifier other than ours may trip on (e.g. Kyverno needs the chain annotation). */
  note?: string;
  /** Set on a signature that verifies here but that cosign would reject: why. */
  cosignRejects?: string;
}

export function failed(base: Omit<SignatureVerdict, 'ok'>, failure: FailureKind, reason: string): SignatureVerdict {
  return { ...base, ok: false, failure, reason };
}

type Classified = { failure: FailureKind; reason: string };

function classifyCertificateError(msg: string, cause: unknown): Classified {
  if (/SCT/.test(msg)) {
    return { failure: 'chain', reason: 'certificate has no valid CT-log timestamp (SCT) from a log of the trusted root' };
  }
  const detail = cause instanceof Error ? cause.message : msg;
  if (/not valid or expired/.test(detail)) {
    return { failure: 'chain', reason: 'certificate was not valid at the time the transparency log recorded the signature' };
  }
  return { failure: 'chain', reason: `certificate does not chain to the trusted root (${detail})` };
}

/** A body mismatch: did the payload/signature change after signing, or is the log entry another signature's? */
function classifyBodyMismatch(entity: SignedEntity | undefined, leaf: X509Certificate | undefined, msg: string): Classified {
  if (entity && leaf) {
    const key = crypto.createPublicKey({ key: leaf.publicKey, format: 'der', type: 'spki' });
    if (!entity.signature.verifySignature(key)) {
      return { failure: 'signature', reason: 'signature does not match the signed payload (the payload or the signature was changed after signing)' };
    }
  }
  return { failure: 'log-proof', reason: `the transparency-log entry is for another signature or payload (${msg})` };
}

/**
 * Timestamps (RFC 3161) and log proofs are checked before the certificate: a
 * signature made on another Sigstore instance fails there first, though the
 * root cause is that its certificate does not chain to our root. So, after a
 * timestamp or log failure, check the certificate alone at the log's
 * (unverified) time; only ever to name the reason, never to pass anything.
 */
function chainProbe(entity: SignedEntity, trust: Trust): Classified | undefined {
  const logTimes = entity.timestamps.filter((t) => t.$case === 'transparency-log' && Number(t.tlogEntry.integratedTime) > 0);
  if (!logTimes.length) return undefined;
  try {
    new Verifier(trust.material, { tlogThreshold: 0, ctlogThreshold: 1, timestampThreshold: 1 }).verify({ ...entity, timestamps: logTimes, tlogEntries: [] });
  } catch (err) {
    const e = err as { code?: string; message?: string; cause?: unknown };
    if (e?.code === 'CERTIFICATE_ERROR') return classifyCertificateError(e.message ?? '', e.cause);
  }
  return undefined;
}

function classify(err: unknown, entity: SignedEntity | undefined, leaf: X509Certificate | undefined, trust: Trust): Classified {
  const e = err as { code?: string; message?: string; cause?: unknown };
  const msg = e?.message ?? String(err);
  switch (e?.code) {
    case 'CERTIFICATE_ERROR':
      return classifyCertificateError(msg, e.cause);
    case 'SIGNATURE_ERROR':
      return { failure: 'signature', reason: 'signature does not match the signed payload' };
    case 'TLOG_BODY_ERROR':
      return classifyBodyMismatch(entity, leaf, msg);
    case 'TLOG_ERROR':
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_INCLUSION_PROMISE_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
    case 'TIMESTAMP_ERROR':
      return (
        (entity && chainProbe(entity, trust)) ?? {
          failure: 'log-proof',
          reason: `bad or missing transparency-log proof (${msg}): not signed by a log or timestamp authority of the trusted root`,
        }
      );
    default:
      return { failure: 'malformed', reason: `cannot verify: ${msg}` };
  }
}

/** The leaf certificate of a bundle, read before verifying so that every verdict can name who signed. */
function leafOf(bundleJson: SerializedBundle): X509Certificate | undefined {
  const material = bundleJson.verificationMaterial as {
    certificate?: { rawBytes?: string };
    x509CertificateChain?: { certificates?: { rawBytes?: string }[] };
  };
  const raw = material?.certificate?.rawBytes ?? material?.x509CertificateChain?.certificates?.[0]?.rawBytes;
  if (!raw) return undefined;
  try {
    return X509Certificate.parse(Buffer.from(raw, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * Verifies a bundle cryptographically with @sigstore/verify (chain to the
 * trusted root at the log's time, SCT, log promise/proof, signature), that the
 * log entry names this certificate (./log-signer.ts), then the identity and
 * issuer against the policy. `artifact` is the signed payload for
 * message signatures; DSSE bundles carry their own.
 */
export function verifyBundle(
  bundleJson: SerializedBundle,
  artifact: Buffer | undefined,
  trust: Trust,
  policy: IdentityPolicy,
  base: Omit<SignatureVerdict, 'ok'>,
): SignatureVerdict {
  const leaf = leafOf(bundleJson);
  const tlog = bundleJson.verificationMaterial?.tlogEntries?.[0];
  const cert = leaf ? describeCertificate(leaf) : undefined;
  const described: Omit<SignatureVerdict, 'ok'> = {
    ...base,
    ...(cert ? { identity: cert.identity, issuer: cert.issuer } : {}),
    // protojson (cosign 3, sigstore-go) leaves out zero values: log index 0 is written as no index at all.
    ...(tlog ? { logIndex: Number(tlog.logIndex ?? 0), integratedTime: Number(tlog.integratedTime ?? 0) } : {}),
    ...(tlog?.logId?.keyId ? { logId: Buffer.from(tlog.logId.keyId, 'base64').toString('hex') } : {}),
  };
  let entity: SignedEntity | undefined;
  try {
    entity = toSignedEntity(bundleFromJSON(bundleJson), artifact);
    new Verifier(trust.material, { tlogThreshold: 1, ctlogThreshold: 1 }).verify(entity);
  } catch (err) {
    const { failure, reason } = classify(err, entity, leaf, trust);
    return failed(described, failure, reason);
  }
  if (!leaf || !cert) return failed(described, 'malformed', 'the signature carries no certificate');
  for (const entry of bundleJson.verificationMaterial?.tlogEntries ?? []) {
    const mismatch = logSignerMismatch(entry.canonicalizedBody, leaf);
    if (mismatch) return failed(described, 'log-proof', mismatch);
  }
  return identityVerdict(described, cert, policy);
}

/** After the cryptography: the certificate's identity and issuer against the policy. */
export function identityVerdict(described: Omit<SignatureVerdict, 'ok'>, cert: { identity: string; issuer: string }, policy: IdentityPolicy): SignatureVerdict {
  if (!identityMatcher(policy).test(cert.identity)) {
    return failed(described, 'identity', `signed by another identity: ${cert.identity || '(none)'} (expected ${describePolicy(policy)})`);
  }
  if (cert.issuer !== policy.issuer) {
    return failed(described, 'issuer', `certificate from another issuer: ${cert.issuer || '(none)'} (expected ${policy.issuer})`);
  }
  return { ...described, ok: true };
}
