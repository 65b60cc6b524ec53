/**
 * Verify mode without `rekor-url` names the instance's Rekor from its trusted root, which may
 * list several logs: a Rekor v1 log and Rekor v2 shards, all valid now. Policies that take one
 * Rekor key (Kyverno `type: Cosign`) need the log that recorded the signatures: a `.sig`
 * signature is always in a Rekor v1 log (v2 gives no signed entry timestamp). So once the
 * signatures are judged, the log that recorded the passing ones (the `.sig` ones first) is the
 * one named. Seen with the real Kyverno CLI: the trusted root's newest log was the v2 one, and the
 * ClusterPolicy printed with its key refused every legacy signature.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config-types.js';
import type { ImageVerdict } from '../verify/verdict.js';

interface TrustedRootLogs {
  tlogs?: { baseUrl?: string; logId?: { keyId?: string } }[];
}

/** The base URL of the log (hex key id `logId`) in the trusted root, if it lists it. */
export function logUrlById(trustedRootJson: string, logId: string): string | undefined {
  let root: TrustedRootLogs;
  try {
    root = JSON.parse(trustedRootJson) as TrustedRootLogs;
  } catch {
    return undefined;
  }
  const log = (root.tlogs ?? []).find((l) => l.logId?.keyId && Buffer.from(l.logId.keyId, 'base64').toString('hex') === logId.toLowerCase());
  return log?.baseUrl?.replace(/\/+$/, '');
}

/** The log id most of the passing signatures name, `.sig` ones first. */
export function logOfPassing(results: ImageVerdict[]): string | undefined {
  const passing = results.flatMap((r) => r.verdicts).filter((v) => v.ok && v.logId);
  const legacy = passing.filter((v) => v.format === 'legacy');
  const counts = new Map<string, number>();
  for (const v of legacy.length ? legacy : passing) counts.set(v.logId!, (counts.get(v.logId!) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** `config` with the Rekor the signatures were recorded in, when `rekor-url` was left to the trusted root. */
export function withLogOfSignatures(config: Config, results: ImageVerdict[]): Config {
  const s = config.sigstore;
  if (s.kind !== 'custom' || !s.rekorUrlFromTrustedRoot || !s.trustedRootPath) return config;
  const logId = logOfPassing(results);
  if (!logId) return config;
  let url: string | undefined;
  try {
    url = logUrlById(readFileSync(s.trustedRootPath, 'utf8'), logId);
  } catch {
    url = undefined;
  }
  return url ? { ...config, sigstore: { ...s, rekorUrl: url } } : config;
}
