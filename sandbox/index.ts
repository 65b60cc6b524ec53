/**
 * The whole local sandbox in one call: OCI registries (open, htpasswd, token), a GitHub-like OIDC
 * issuer and a Sigstore instance (Fulcio, Rekor, TSA, trusted root), all on 127.0.0.1. Used by the
 * e2e tests, `npm run sandbox`, the demo and the bench.
 */
import { randomBytes } from 'node:crypto';
import { SANDBOX_USERNAME, startRegistry, type RegistryMode, type SandboxRegistry } from './registry.js';
import { startOidc, type SandboxOidc } from './oidc.js';
import { startSigstore, type SandboxSigstore } from './sigstore/index.js';

export type { RegistryMode, SandboxRegistry } from './registry.js';
export type { SandboxOidc } from './oidc.js';
export type { SandboxSigstore } from './sigstore/index.js';

export interface SandboxOptions {
  /** Registries to start; default all three. */
  registries?: RegistryMode[];
  /** Start Sigstore (Fulcio, Rekor, TSA); default true. Needs OIDC, which it then starts too. */
  sigstore?: boolean;
  /** Start the OIDC issuer; default true. */
  oidc?: boolean;
}

export interface Sandbox {
  registries: Partial<Record<RegistryMode, SandboxRegistry>>;
  sigstore?: SandboxSigstore;
  oidc?: SandboxOidc;
  /** The KEY=VALUE set describing the sandbox (only keys for the parts started). */
  env(): Record<string, string>;
  /** Stops everything; safe to call more than once. */
  stop(): Promise<void>;
}

const ALL_REGISTRIES: RegistryMode[] = ['open', 'htpasswd', 'token'];

/** Stops every part, even when some fail; reports all failures together. */
async function stopAll(parts: { stop(): Promise<void> }[]): Promise<void> {
  const results = await Promise.allSettled(parts.map((p) => p.stop()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new AggregateError(failures.map((f) => f.reason), `stopping the sandbox: ${failures.length} part(s) failed to stop`);
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const modes = [...new Set(opts.registries ?? ALL_REGISTRIES)];
  const wantSigstore = opts.sigstore ?? true;
  const wantOidc = (opts.oidc ?? true) || wantSigstore;
  // One user for both authenticated registries, so one USERNAME/PASSWORD pair describes them.
  const credentials = { username: SANDBOX_USERNAME, password: randomBytes(18).toString('base64url') };

  const started: { stop(): Promise<void> }[] = [];
  const track = <T extends { stop(): Promise<void> }>(part: T): T => {
    started.push(part);
    return part;
  };
  const registries: Partial<Record<RegistryMode, SandboxRegistry>> = {};
  let oidc: SandboxOidc | undefined;
  let sigstore: SandboxSigstore | undefined;
  try {
    const identity = (async () => {
      if (!wantOidc) return;
      oidc = track(await startOidc());
      if (wantSigstore) sigstore = track(await startSigstore({ oidc }));
    })();
    const registryStarts = modes.map(async (mode) => {
      registries[mode] = track(await startRegistry(mode, credentials));
    });
    // allSettled first, so nothing is still starting when we clean up after a failure.
    const results = await Promise.allSettled([identity, ...registryStarts]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stopAll(started).catch(() => undefined);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    registries,
    sigstore,
    oidc,
    env() {
      const env: Record<string, string> = {};
      if (registries.open) env.SANDBOX_REGISTRY_OPEN = registries.open.host;
      if (registries.htpasswd) env.SANDBOX_REGISTRY_HTPASSWD = registries.htpasswd.host;
      if (registries.token) env.SANDBOX_REGISTRY_TOKEN = registries.token.host;
      if (registries.htpasswd || registries.token) {
        env.SANDBOX_REGISTRY_USERNAME = credentials.username;
        env.SANDBOX_REGISTRY_PASSWORD = credentials.password;
      }
      if (sigstore) {
        env.FULCIO_URL = sigstore.fulcioUrl;
        env.REKOR_URL = sigstore.rekorUrl;
        env.TSA_URL = sigstore.tsaUrl;
        env.TRUSTED_ROOT = sigstore.trustedRootPath;
        // The action's testing hook: `sigstore: public-good` then signs with this sandbox.
        env.SIGN_ACTION_TUF_MIRROR = sigstore.tuf.url;
        env.SIGN_ACTION_TUF_ROOT = sigstore.tuf.rootPath;
      }
      if (oidc) {
        env.ACTIONS_ID_TOKEN_REQUEST_URL = oidc.defaultRequest.requestUrl;
        env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = oidc.defaultRequest.requestToken;
      }
      return env;
    },
    // Sigstore before OIDC (it was started with it), registries alongside.
    stop: () =>
      (stopping ??= (async () => {
        const registryParts = Object.values(registries);
        try {
          await stopAll(sigstore ? [sigstore, ...registryParts] : registryParts);
        } finally {
          await oidc?.stop();
        }
      })()),
  };
}
