/**
 * Counts every request a registry sees while the action signs, per registry
 * mode (open, htpasswd, token): a relaying proxy sits in front of the sandbox
 * registry, so 401 challenges count like any other request (token requests go
 * to the token server, not the registry, and are shown apart). Reusable by the
 * bench's other parts (e.g. a side-by-side count with cosign): start the
 * sandbox once, then call countSigning() per case.
 */
import { startFaultProxy, type Exchange, type FaultProxy } from '../sandbox/fault-proxy.js';
import type { Sandbox, SandboxRegistry } from '../sandbox/index.js';
import { pushImage } from '../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor } from '../sandbox/runner.js';

export type RegistryMode = 'open' | 'htpasswd' | 'token';
export const REGISTRY_MODES: RegistryMode[] = ['open', 'htpasswd', 'token'];

export interface CountCase {
  mode: RegistryMode;
  /** Distinct digests signed in one run. */
  n: number;
  format: 'legacy' | 'bundle';
  /** The self-check (`verify`). */
  verify: boolean;
  /** Repository the digests are pushed to; default one fresh repository per call. */
  repository?: string;
  /** Sign these digests of `repository` (e.g. to append to their signatures) instead of pushing `n` new images. */
  digests?: string[];
  /** Extra action inputs. */
  inputs?: Record<string, string>;
}

export interface Count {
  repository: string;
  digests: string[];
  /** Every request the registry saw, 401s included. */
  requests: number;
  /** Of which answered 401. */
  challenges: number;
  /** Requests to the token server (token mode). */
  tokens: number;
  /** `METHOD kind` (`HEAD manifests`, `PUT uploads`…) → how many, for reading where requests go. */
  byKind: Record<string, number>;
  ms: number;
  /** The run's signatures output. */
  signatures: unknown[];
  /** Every exchange, for assertions. */
  log: Exchange[];
}

/** One proxy per registry of the sandbox, made on first use and kept for the next counts. */
export class RegistryCounter {
  private readonly proxies = new Map<RegistryMode, FaultProxy>();
  private fresh = 0;

  constructor(private readonly sandbox: Sandbox) {}

  registry(mode: RegistryMode): SandboxRegistry {
    const registry = this.sandbox.registries[mode];
    if (!registry) throw new Error(`the sandbox was started without the ${mode} registry`);
    return registry;
  }

  async proxy(mode: RegistryMode): Promise<FaultProxy> {
    let proxy = this.proxies.get(mode);
    if (!proxy) {
      proxy = await startFaultProxy(this.registry(mode).url);
      this.proxies.set(mode, proxy);
    }
    return proxy;
  }

  /** Pushes `c.n` fresh images (straight to the registry, uncounted), signs them in one run, counts. */
  async count(c: CountCase): Promise<Count> {
    const registry = this.registry(c.mode);
    const proxy = await this.proxy(c.mode);
    const repository = c.repository ?? `count/${c.mode}-${c.format}-${++this.fresh}-${Date.now().toString(36)}`;
    const digests = c.digests ?? (await Promise.all(Array.from({ length: c.n }, () => pushImage(registry, repository)))).map((i) => i.digest);
    const creds: Record<string, string> = registry.username ? { 'registry-username': registry.username, 'registry-password': registry.password! } : {};
    const inputs = {
      ...sigstoreInputsFor(this.sandbox),
      'tsa-url': '',
      ...creds,
      images: digests.map((d) => `${proxy.host}/${repository}@${d}`).join('\n'),
      'signature-format': c.format,
      verify: String(c.verify),
      summary: 'false',
      ...c.inputs,
    };
    const [from, tokens0] = [proxy.log.length, registry.tokenRequests()];
    const started = performance.now();
    const run = await runAction({ inputs, env: runnerEnvFor(this.sandbox), timeoutMs: 300_000 });
    const ms = performance.now() - started;
    if (run.code !== 0) {
      const log = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
      throw new Error(`signing on the ${c.mode} registry failed:\n${log}`);
    }
    const log = proxy.log.slice(from);
    const byKind: Record<string, number> = {};
    for (const e of log) {
      const kind = `${e.method} ${requestKind(e.path)}${e.status === 401 ? ' (401)' : ''}`;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
    }
    return {
      repository,
      digests,
      requests: log.length,
      challenges: log.filter((e) => e.status === 401).length,
      tokens: registry.tokenRequests() - tokens0,
      byKind,
      ms,
      signatures: JSON.parse(run.outputs.signatures || '[]') as unknown[],
      log,
    };
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.proxies.values()].map((p) => p.stop()));
    this.proxies.clear();
  }
}

/** `manifests`, `blobs`, `uploads`, `referrers`, or the path itself. */
export function requestKind(path: string): string {
  const m = /^\/v2\/.+\/(manifests|blobs\/uploads|blobs|referrers)\//.exec(path);
  if (!m) return path.split('?')[0];
  return m[1] === 'blobs/uploads' ? 'uploads' : m[1];
}

export interface FloorRow extends CountCase {
  perSignature: number;
  challengesPerSignature: number;
  tokens: number;
  byKind: Record<string, number>;
}

/** The request floor: every mode × N × format × self-check, each in a fresh repository. */
export async function requestFloor(
  counter: RegistryCounter,
  opts: { modes?: RegistryMode[]; ns?: number[]; formats?: ('legacy' | 'bundle')[]; onRow?: (row: FloorRow) => void } = {},
): Promise<FloorRow[]> {
  const rows: FloorRow[] = [];
  for (const mode of opts.modes ?? REGISTRY_MODES) {
    for (const format of opts.formats ?? (['legacy', 'bundle'] as const)) {
      for (const verify of [false, true]) {
        for (const n of opts.ns ?? [1, 20]) {
          const c = await counter.count({ mode, n, format, verify });
          const row: FloorRow = {
            mode,
            n,
            format,
            verify,
            perSignature: c.requests / n,
            challengesPerSignature: c.challenges / n,
            tokens: c.tokens,
            byKind: c.byKind,
          };
          rows.push(row);
          opts.onRow?.(row);
        }
      }
    }
  }
  return rows;
}

/** The targets of issue 13: legacy ≤ 9 (≤ 10 with the self-check), bundles ≤ 10 (≤ 11). */
export function floorTarget(format: 'legacy' | 'bundle', verify: boolean): number {
  return (format === 'legacy' ? 9 : 10) + (verify ? 1 : 0);
}

/** The floor as a markdown table, one row per mode, format and self-check, N = 1 and 20 side by side. */
export function floorTable(rows: FloorRow[]): string {
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const lines = [
    `| registry | format | self-check | ${ns.map((n) => `N = ${n}`).join(' | ')} | 401s / signature (N = ${ns.join(', ')}) | target |`,
    `|---|---|---|${ns.map(() => '---|').join('')}---|---|`,
  ];
  const keys = [...new Set(rows.map((r) => `${r.mode}|${r.format}|${r.verify}`))];
  for (const key of keys) {
    const group = rows.filter((r) => `${r.mode}|${r.format}|${r.verify}` === key);
    const [first] = group;
    const at = (n: number) => group.find((r) => r.n === n);
    lines.push(
      `| ${first.mode} | ${first.format} | ${first.verify ? 'yes' : 'no'} | ${ns.map((n) => fmt(at(n)?.perSignature)).join(' | ')} | ` +
        `${ns.map((n) => fmt(at(n)?.challengesPerSignature)).join(', ')} | ≤ ${floorTarget(first.format, first.verify)} |`,
    );
  }
  return lines.join('\n');
}

/** Up to two decimals, no trailing zeros: 8, 8.05, 7.8. */
const fmt = (v: number | undefined): string => (v === undefined ? '–' : String(Math.round(v * 100) / 100));
