/**
 * A complete local Sigstore instance for the sandbox: Fulcio (trusting the
 * sandbox GitHub OIDC issuer), Rekor v1, Rekor v2, an RFC 3161 TSA, the
 * trusted root + signing config that describe them, and a TUF repository
 * publishing both as Sigstore's does. Every service has its own
 * key and its own 127.0.0.1 port; clocks are the real clock throughout.
 */
import crypto from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SandboxOidc } from '../oidc.js';
import { startFulcio } from './fulcio.js';
import { startRekorV1 } from './rekor-v1.js';
import { startRekorV2 } from './rekor-v2.js';
import { buildSigningConfig, buildTrustedRoot, type TrustInputs } from './trusted-root.js';
import { startTsa } from './tsa.js';
import { startTufRepository, type SandboxTufRepository } from './tuf-repo.js';

export interface SandboxSigstore {
  /** Fulcio base URL (`POST /api/v2/signingCert`). */
  fulcioUrl: string;
  /** Rekor v1 base URL (`/api/v1/log/...`). */
  rekorUrl: string;
  /** The full timestamp endpoint, `<base>/api/v1/timestamp` (as cosign's --timestamp-server-url takes it). */
  tsaUrl: string;
  /** Rekor v2 base URL (`POST /api/v2/log/entries`), a separate log with its own key. */
  rekorV2Url: string;
  /** protobuf-specs TrustedRoot JSON. */
  trustedRoot: object;
  trustedRootPath: string;
  /** SigningConfig v0.2 JSON naming the services above. */
  signingConfig: object;
  signingConfigPath: string;
  /**
   * A TUF repository publishing, as Sigstore's does, `trusted_root.json`,
   * `signing_config.v0.2.json` (Rekor v1) and `signing_config_rekor_v2.v0.2.json`
   * for this instance: the action's public-good path runs against it through
   * SIGN_ACTION_TUF_MIRROR / SIGN_ACTION_TUF_ROOT (see sandbox/runner.ts `publicGoodFor`).
   */
  tuf: SandboxTufRepository;
  /** The target contents `tuf` serves, to start another repository with some left out. */
  tufTargets: Record<string, object>;
  stop(): Promise<void>;
}

const newKeyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

export async function startSigstore(opts: { oidc: SandboxOidc; dir?: string }): Promise<SandboxSigstore> {
  const stops: (() => Promise<void>)[] = [];
  const ownDir = opts.dir === undefined ? await mkdtemp(path.join(os.tmpdir(), 'sandbox-sigstore-')) : undefined;
  const stopAll = async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };
  try {
    const track = <T extends { stop(): Promise<void> }>(server: T): T => (stops.push(server.stop), server);
    const starts = [
      startFulcio({ oidc: opts.oidc, caKeyPair: newKeyPair(), ctKeyPair: newKeyPair() }).then(track),
      startRekorV1(newKeyPair()).then(track),
      startRekorV2(newKeyPair()).then(track),
      startTsa(newKeyPair()).then(track),
    ] as const;
    // Settle all before failing, so no server is still starting when we clean up.
    const failure = (await Promise.allSettled(starts)).find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    const [fulcio, rekorV1, rekorV2, tsa] = await Promise.all(starts);
    const inputs: TrustInputs = {
      fulcio,
      rekorV1: { url: rekorV1.url, ...logKey(rekorV1.log) },
      rekorV2: { url: rekorV2.url, ...logKey(rekorV2.log) },
      tsa,
    };
    const trustedRoot = buildTrustedRoot(inputs);
    const signingConfig = buildSigningConfig(inputs);
    const tufTargets = {
      'trusted_root.json': trustedRoot,
      'signing_config.v0.2.json': buildSigningConfig(inputs, { rekorV2: false }),
      'signing_config_rekor_v2.v0.2.json': signingConfig,
    };
    const tuf = track(await startTufRepository(tufTargets));
    const dir = opts.dir ?? (ownDir as string);
    const trustedRootPath = path.join(dir, 'trusted_root.json');
    const signingConfigPath = path.join(dir, 'signing_config.json');
    await writeFile(trustedRootPath, `${JSON.stringify(trustedRoot, null, 2)}\n`);
    await writeFile(signingConfigPath, `${JSON.stringify(signingConfig, null, 2)}\n`);
    let stopping: Promise<void> | undefined;
    return {
      fulcioUrl: fulcio.url,
      rekorUrl: rekorV1.url,
      tsaUrl: `${tsa.url}/api/v1/timestamp`,
      rekorV2Url: rekorV2.url,
      trustedRoot,
      trustedRootPath,
      signingConfig,
      signingConfigPath,
      tuf,
      tufTargets,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

const logKey = (log: { logId: Buffer; publicKeyDer: Buffer; startedAt: Date }) => ({
  logId: log.logId,
  publicKeyDer: log.publicKeyDer,
  startedAt: log.startedAt,
});
