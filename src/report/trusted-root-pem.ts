/**
 * PEM keys and certificates out of a trusted_root.json, for verifiers that take
 * them one by one (Kyverno's `roots`, `rekor.pubkey`, `ctlog.pubkey`) instead of
 * a trusted root. Pure: the caller reads the file.
 *
 * trusted_root.json (sigstore protobuf-specs `TrustedRoot`, JSON form):
 * `certificateAuthorities[].certChain.certificates[].rawBytes` (base64 DER),
 * `tlogs[]` / `ctlogs[]`: `{ baseUrl, publicKey: { rawBytes (base64 SPKI DER), validFor: { start, end? } } }`.
 */
import { ActionError } from '../errors.js';

export interface TrustMaterialPem {
  /** Every Fulcio CA certificate (roots and intermediates), PEM, one after another. */
  fulcioCertificates?: string;
  /** The Rekor key in use (Kyverno and cosign take exactly one). */
  rekorPublicKey?: string;
  /** The CT log key in use. */
  ctlogPublicKey?: string;
}

interface LogInstance {
  baseUrl?: string;
  publicKey?: { rawBytes?: string; validFor?: { end?: string } };
}

interface TrustedRootJson {
  certificateAuthorities?: { certChain?: { certificates?: { rawBytes?: string }[] } }[];
  tlogs?: LogInstance[];
  ctlogs?: LogInstance[];
}

function pem(label: 'CERTIFICATE' | 'PUBLIC KEY', base64: string): string {
  // Re-encoding normalises whatever whitespace or line breaks the JSON carried.
  const body = Buffer.from(base64, 'base64').toString('base64');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

/**
 * The key a verifier should use: the log at `preferredUrl` if listed, and among
 * candidates the one still open-ended (no `validFor.end`), the last listed on a tie
 * (keys are appended as logs rotate).
 */
function currentKey(logs: LogInstance[] | undefined, preferredUrl?: string): string | undefined {
  const withKeys = (logs ?? []).filter((log) => log.publicKey?.rawBytes);
  const atUrl = preferredUrl ? withKeys.filter((log) => log.baseUrl && trimSlash(log.baseUrl) === trimSlash(preferredUrl)) : [];
  const candidates = atUrl.length > 0 ? atUrl : withKeys;
  const open = candidates.filter((log) => !log.publicKey?.validFor?.end);
  const chosen = (open.length > 0 ? open : candidates).at(-1);
  return chosen?.publicKey?.rawBytes ? pem('PUBLIC KEY', chosen.publicKey.rawBytes) : undefined;
}

export function pemFromTrustedRoot(trustedRootJson: string, rekorUrl?: string): TrustMaterialPem {
  let root: TrustedRootJson;
  try {
    root = JSON.parse(trustedRootJson) as TrustedRootJson;
  } catch (cause) {
    throw new ActionError('the trusted root is not valid JSON', {
      input: 'trusted-root',
      fix: "point `trusted-root` at the instance's trusted_root.json",
      cause,
    });
  }
  if (typeof root !== 'object' || root === null) {
    throw new ActionError('the trusted root is not a JSON object', { input: 'trusted-root', fix: "point `trusted-root` at the instance's trusted_root.json" });
  }
  const certificates = (root.certificateAuthorities ?? [])
    .flatMap((ca) => ca.certChain?.certificates ?? [])
    .flatMap((cert) => (cert.rawBytes ? [pem('CERTIFICATE', cert.rawBytes)] : []));
  return {
    fulcioCertificates: certificates.length > 0 ? [...new Set(certificates)].join('') : undefined,
    rekorPublicKey: currentKey(root.tlogs, rekorUrl),
    ctlogPublicKey: currentKey(root.ctlogs),
  };
}
