/**
 * `npm run bench -- --vs-cosign`: the action and real cosign sign the same kind of digests on
 * one sandbox, side by side, for each registry mode (open, htpasswd = Basic, token):
 *  - cosign 2 (`.sig`) and cosign 3 (bundle), keyless, all N images in one invocation;
 *  - the action, legacy and bundle, all N images in one run, `verify: false` (cosign does
 *    not read its signatures back) and, for legacy, with the self-check too.
 * Every request the registry sees is counted at a relaying proxy (401s included), token
 * requests at the token server, Fulcio and Rekor requests at proxies of their own.
 * Prints figures; asserts nothing. Needs the cosign builds of scripts/ensure-verifiers.sh.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type RegistryMode, type Sandbox, type SandboxRegistry } from '../sandbox/index.js';
import { startFaultProxy, type FaultProxy } from '../sandbox/fault-proxy.js';
import { pushImage } from '../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor } from '../sandbox/runner.js';
import { identityToken } from '../__tests__/helpers/cosign.js';
import { ensureTool, runTool, type Tool } from '../__tests__/helpers/verifiers.js';

interface Counts {
  ms: number;
  registry: number;
  unauthorized: number;
  tokens: number;
  fulcio: number;
  rekor: number;
}

type Signer = 'cosign 2 (.sig)' | 'cosign 3 (bundle)' | 'action legacy' | 'action legacy + self-check' | 'action bundle';
const SIGNERS: Signer[] = ['cosign 2 (.sig)', 'action legacy', 'action legacy + self-check', 'cosign 3 (bundle)', 'action bundle'];
/** Whose figures each row is compared with. */
const BASELINE: Record<Signer, Signer> = {
  'cosign 2 (.sig)': 'cosign 2 (.sig)',
  'action legacy': 'cosign 2 (.sig)',
  'action legacy + self-check': 'cosign 2 (.sig)',
  'cosign 3 (bundle)': 'cosign 3 (bundle)',
  'action bundle': 'cosign 3 (bundle)',
};

interface Bench {
  sandbox: Sandbox;
  registry: SandboxRegistry;
  proxy: FaultProxy;
  fulcio: FaultProxy;
  rekor: FaultProxy;
  cosign2: Tool;
  cosign3: Tool;
  dockerConfig: string;
}

async function measure(b: Bench, sign: () => Promise<void>): Promise<Counts> {
  const [r0, f0, k0, t0] = [b.proxy.log.length, b.fulcio.log.length, b.rekor.log.length, b.registry.tokenRequests()];
  const started = performance.now();
  await sign();
  const seen = b.proxy.log.slice(r0);
  return {
    ms: performance.now() - started,
    registry: seen.length,
    unauthorized: seen.filter((e) => e.status === 401).length,
    tokens: b.registry.tokenRequests() - t0,
    fulcio: b.fulcio.log.length - f0,
    rekor: b.rekor.log.length - k0,
  };
}

async function cosignSignAll(b: Bench, cosign: Tool, images: string[], bundle: boolean): Promise<void> {
  const args = ['sign', '--yes', '--allow-http-registry', '--fulcio-url', b.fulcio.url, '--rekor-url', b.rekor.url, '--trusted-root', b.sandbox.sigstore!.trustedRootPath];
  args.push('--identity-token', await identityToken(b.sandbox), `--new-bundle-format=${bundle}`);
  if (cosign.name === 'cosign-v3') args.push('--use-signing-config=false');
  const home = mkdtempSync(join(tmpdir(), 'bench-cosign-'));
  const run = await runTool(cosign.path, [...args, ...images], { env: { HOME: home, TUF_ROOT: join(home, 'tuf'), DOCKER_CONFIG: b.dockerConfig }, timeoutMs: 600_000 });
  if (run.code !== 0) throw new Error(`${cosign.name} sign failed:\n${run.stderr.slice(-2000)}`);
}

async function actionSignAll(b: Bench, images: string[], format: 'legacy' | 'bundle', verify: boolean): Promise<void> {
  const creds: Record<string, string> = b.registry.username ? { 'registry-username': b.registry.username, 'registry-password': b.registry.password! } : {};
  const inputs = { ...sigstoreInputsFor(b.sandbox), 'fulcio-url': b.fulcio.url, 'rekor-url': b.rekor.url, 'tsa-url': '', ...creds };
  const run = await runAction({ inputs: { ...inputs, images: images.join('\n'), 'signature-format': format, verify: String(verify) }, env: runnerEnvFor(b.sandbox), timeoutMs: 600_000 });
  if (run.code !== 0) throw new Error(`the action failed:\n${run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).slice(-30).join('\n')}`);
}

/** Docker config with the sandbox credentials for the proxy's host, as docker login writes it. */
function dockerConfigFor(registry: SandboxRegistry, proxyHost: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-docker-'));
  mkdirSync(dir, { recursive: true });
  const auths = registry.username ? { [proxyHost]: { auth: Buffer.from(`${registry.username}:${registry.password}`).toString('base64') } } : {};
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths }));
  return dir;
}

const ratio = (ours: number, theirs: number): string => (theirs > 0 ? `${(ours / theirs).toFixed(2)}×` : '—');

export async function benchVsCosign(ns: number[]): Promise<string> {
  const cosign2 = ensureTool('cosign-v2');
  const cosign3 = ensureTool('cosign-v3');
  if (typeof cosign2 === 'string' || typeof cosign3 === 'string') {
    throw new Error(`--vs-cosign needs cosign 2 and 3: ${[cosign2, cosign3].filter((t) => typeof t === 'string').join('; ')}`);
  }
  const modes: RegistryMode[] = ['open', 'htpasswd', 'token'];
  const sandbox = await startSandbox({ registries: modes });
  const lines = [
    '| registry | N | signer | registry requests / signature (401s) | token requests / signature | Fulcio / run | Rekor / signature | wall time (s) | registry ratio to cosign | time ratio to cosign |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const proxies: FaultProxy[] = [];
  try {
    const fulcio = await startFaultProxy(sandbox.sigstore!.fulcioUrl);
    const rekor = await startFaultProxy(sandbox.sigstore!.rekorUrl);
    proxies.push(fulcio, rekor);
    for (const mode of modes) {
      const registry = sandbox.registries[mode]!;
      const proxy = await startFaultProxy(registry.url);
      proxies.push(proxy);
      const b: Bench = { sandbox, registry, proxy, fulcio, rekor, cosign2, cosign3, dockerConfig: dockerConfigFor(registry, proxy.host) };
      for (const n of ns) {
        const results = new Map<Signer, Counts>();
        for (const signer of SIGNERS) {
          // Fresh digests in a fresh repository for each signer: every signature is a first one.
          const repo = `vs/${mode}-${n}-${signer.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
          const pushed = await Promise.all(Array.from({ length: n }, () => pushImage(registry, repo)));
          const images = pushed.map((p) => `${proxy.host}/${repo}@${p.digest}`);
          const sign = {
            'cosign 2 (.sig)': () => cosignSignAll(b, cosign2, images, false),
            'cosign 3 (bundle)': () => cosignSignAll(b, cosign3, images, true),
            'action legacy': () => actionSignAll(b, images, 'legacy', false),
            'action legacy + self-check': () => actionSignAll(b, images, 'legacy', true),
            'action bundle': () => actionSignAll(b, images, 'bundle', false),
          }[signer];
          const c = await measure(b, sign);
          results.set(signer, c);
          const base = results.get(BASELINE[signer]);
          const per = (x: number) => (x / n).toFixed(1);
          const cells = [mode, n, signer, `${per(c.registry)} (${per(c.unauthorized)})`, per(c.tokens), c.fulcio, per(c.rekor), (c.ms / 1000).toFixed(2)];
          const ratios = base && BASELINE[signer] !== signer ? [ratio(c.registry, base.registry), ratio(c.ms, base.ms)] : ['1×', '1×'];
          lines.push(`| ${[...cells, ...ratios].join(' | ')} |`);
          console.error(`  ${mode} N=${n} ${signer}: registry ${per(c.registry)}/sig (401: ${per(c.unauthorized)}), tokens ${per(c.tokens)}/sig, Fulcio ${c.fulcio}, Rekor ${per(c.rekor)}/sig, ${(c.ms / 1000).toFixed(2)} s`);
        }
      }
    }
  } finally {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await sandbox.stop();
  }
  return lines.join('\n');
}
