/**
 * Real cosign against the sandbox: verify what the action wrote, and sign (as another
 * writer would) with the sandbox's Fulcio, Rekor and OIDC issuer. cosign runs offline:
 * its HOME and TUF_ROOT are private folders, trust comes from the sandbox's trusted root.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../../sandbox/index.js';
import type { GitHubClaims } from '../../sandbox/oidc.js';
import { runTool, type Tool, type ToolRun } from './verifiers.js';

export const ISSUER = 'https://token.actions.githubusercontent.com';

/** A private HOME for the tools: nothing is read from or written to the developer's ~/.sigstore. */
export function toolEnv(): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'interop-home-'));
  return { HOME: home, TUF_ROOT: join(home, 'tuf'), DOCKER_CONFIG: join(home, 'docker'), GH_NO_UPDATE_NOTIFIER: '1', GH_TELEMETRY: 'false' };
}

/** An Actions ID token from the sandbox issuer (audience sigstore), as cosign's --identity-token takes it. */
export async function identityToken(sandbox: Sandbox, claims?: Partial<GitHubClaims>): Promise<string> {
  const request = claims ? sandbox.oidc!.issue(claims) : sandbox.oidc!.defaultRequest;
  const res = await fetch(`${request.requestUrl}&audience=sigstore`, { headers: { authorization: `bearer ${request.requestToken}` } });
  if (!res.ok) throw new Error(`the sandbox OIDC issuer answered ${res.status}`);
  return ((await res.json()) as { value: string }).value;
}

export interface VerifyOptions {
  identity: string;
  issuer?: string;
  /** cosign 2: read bundles (`--new-bundle-format`); cosign 3: `false` reads only `.sig`. */
  newBundleFormat?: boolean;
  extra?: string[];
}

/** `cosign verify` of one image with the sandbox's trusted root. */
export function cosignVerify(cosign: Tool, sandbox: Sandbox, image: string, opts: VerifyOptions, env = toolEnv()): Promise<ToolRun> {
  const args = ['verify', '--certificate-identity', opts.identity, '--certificate-oidc-issuer', opts.issuer ?? ISSUER];
  args.push('--trusted-root', sandbox.sigstore!.trustedRootPath, '--allow-http-registry', '--output', 'json');
  if (opts.newBundleFormat !== undefined) args.push(`--new-bundle-format=${opts.newBundleFormat}`);
  args.push(...(opts.extra ?? []), image);
  return runTool(cosign.path, args, { env, timeoutMs: 90_000 });
}

/**
 * Keyless `cosign sign` on the sandbox, as a second writer: cosign 2 writes a `.sig` layer
 * (or a bundle with `bundle: true`); cosign 3 writes a bundle referrer unless `bundle: false`.
 */
export async function cosignSign(
  cosign: Tool,
  sandbox: Sandbox,
  image: string,
  opts: { claims?: Partial<GitHubClaims>; bundle?: boolean; extra?: string[] } = {},
): Promise<ToolRun> {
  const s = sandbox.sigstore!;
  const args = ['sign', '--yes', '--allow-http-registry', '--fulcio-url', s.fulcioUrl, '--rekor-url', s.rekorUrl, '--trusted-root', s.trustedRootPath];
  args.push('--identity-token', await identityToken(sandbox, opts.claims));
  if (opts.bundle !== undefined) args.push(`--new-bundle-format=${opts.bundle}`);
  // cosign 3 otherwise looks for a signing config in TUF; the services are given by flag.
  if (cosign.name === 'cosign-v3') args.push('--use-signing-config=false');
  args.push(...(opts.extra ?? []), image);
  return runTool(cosign.path, args, { env: toolEnv(), timeoutMs: 90_000 });
}

/** `cosign attest` on the sandbox, with a predicate file. */
export async function cosignAttest(
  cosign: Tool,
  sandbox: Sandbox,
  image: string,
  opts: { predicatePath: string; type: string; claims?: Partial<GitHubClaims>; bundle?: boolean },
): Promise<ToolRun> {
  const s = sandbox.sigstore!;
  const args = ['attest', '--yes', '--allow-http-registry', '--fulcio-url', s.fulcioUrl, '--rekor-url', s.rekorUrl, '--trusted-root', s.trustedRootPath];
  args.push('--identity-token', await identityToken(sandbox, opts.claims), '--predicate', opts.predicatePath, '--type', opts.type);
  if (opts.bundle !== undefined) args.push(`--new-bundle-format=${opts.bundle}`);
  if (cosign.name === 'cosign-v3') args.push('--use-signing-config=false');
  args.push(image);
  return runTool(cosign.path, args, { env: toolEnv(), timeoutMs: 90_000 });
}

/** How many signatures a successful `cosign verify --output json` printed. */
export function verifiedCount(run: ToolRun): number {
  const line = run.stdout.split('\n').find((l) => l.startsWith('['));
  return line ? (JSON.parse(line) as unknown[]).length : 0;
}
