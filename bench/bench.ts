/**
 * `npm run bench`: what signing costs, measured on the sandbox. Prints figures,
 * asserts nothing (tests assert behaviour; this measures it):
 *  - every request each registry mode (open, htpasswd, token) sees per signature,
 *    401s included, for N = 1 and 20, legacy and bundle, with and without the
 *    self-check, counted at a relaying proxy (./count.ts);
 *  - cases: appending to an existing .sig, later bundles, `if-signed: skip`;
 *  - Fulcio requests per run for N = 1, 20, 100 digests; Rekor requests per signature;
 *  - wall time for N = 1, 20, 100 distinct digests in one run;
 *  - start-up of `node dist/index.js` and the size of dist/.
 * Usage: npm run bench [-- --quick]   (--quick: N = 1 and 20 only)
 *        npm run bench -- --vs-cosign   (the action beside real cosign 2 and 3: bench/vs-cosign.ts)
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startSandbox } from '../sandbox/index.js';
import { startFaultProxy, type FaultProxy } from '../sandbox/fault-proxy.js';
import { REPO_ROOT } from '../sandbox/runner.js';
import { floorTable, RegistryCounter, requestFloor, type CountCase } from './count.js';
import { benchVsCosign } from './vs-cosign.js';

const quick = process.argv.includes('--quick');
const rows: string[][] = [];
const row = (...cells: (string | number)[]): void => {
  rows.push(cells.map(String));
  console.error(`  ${cells.join(' | ')}`);
};

function dirSize(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => {
    const p = path.join(dir, e.name);
    return n + (e.isDirectory() ? dirSize(p) : fs.statSync(p).size);
  }, 0);
}

/** Start-up: process start to the first line it prints, median of `runs`. */
async function startupMs(runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/index.js')], {
        env: { PATH: process.env.PATH, 'INPUT_IMAGES': 'not a reference', INPUT_SIGSTORE: 'public-good' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let done = false;
      const first = (): void => {
        if (!done) times.push(performance.now() - t0);
        done = true;
      };
      child.stdout.once('data', first);
      child.stderr.once('data', first);
      child.on('exit', () => resolve());
    });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main(): Promise<void> {
  if (process.argv.includes('--vs-cosign')) {
    console.error('side by side with real cosign (N images per invocation; every registry request counted, 401s included):');
    console.log(`\n${await benchVsCosign([1, 20])}`);
    return;
  }
  const sandbox = await startSandbox();
  const counter = new RegistryCounter(sandbox);
  const proxies: FaultProxy[] = [];
  try {
    const fulcio = await startFaultProxy(sandbox.sigstore!.fulcioUrl);
    const rekor = await startFaultProxy(sandbox.sigstore!.rekorUrl);
    proxies.push(fulcio, rekor);
    const sigstore = { 'fulcio-url': fulcio.url, 'rekor-url': rekor.url };

    // 1. The request floor: everything each registry mode sees, 401s included, per signature.
    console.error('registry requests per signature, every request the registry sees (401s included), each case in a fresh repository:');
    const floor = await requestFloor(counter, {
      onRow: (r) => console.error(`  ${r.mode} ${r.format} self-check ${r.verify ? 'yes' : 'no '} N=${r.n}: ${r.perSignature.toFixed(2)} (${JSON.stringify(r.byKind)})`),
    });

    // 2. Cases: appending to signatures already there, later bundles in a repository, if-signed: skip.
    console.error('\ncases (token registry, verify: false, N = 1):');
    row('case', 'registry requests (401s included)', 'of which 401', 'token requests', 'Rekor requests');
    const counted = async (label: string, c: Omit<CountCase, 'mode' | 'n'> & { n?: number }) => {
      const k0 = rekor.log.length;
      const r = await counter.count({ mode: 'token', n: 1, ...c, inputs: { ...sigstore, ...c.inputs } });
      row(label, r.requests, r.challenges, r.tokens, rekor.log.length - k0);
      return r;
    };
    const first = await counted('legacy, first signature', { format: 'legacy', verify: false });
    const again = { repository: first.repository, digests: first.digests };
    await counted('legacy, append to an existing .sig', { format: 'legacy', verify: false, ...again });
    await counted('legacy, if-signed: skip, already signed (nothing written)', { format: 'legacy', verify: false, ...again, inputs: { 'if-signed': 'skip' } });
    const bundle = await counted('bundle, fallback tag, first in its repository', { format: 'bundle', verify: false });
    await counted('bundle, fallback tag, later in the repository', { format: 'bundle', verify: false, repository: bundle.repository });
    await counted('bundle, if-signed: skip, already signed (nothing written)', { format: 'bundle', verify: false, ...{ repository: bundle.repository, digests: bundle.digests }, inputs: { 'if-signed': 'skip' } });

    // 3. Scaling: distinct digests in one run, with the self-check (the default).
    console.error('\nscaling (open registry, verify: true, legacy, distinct digests in one repository):');
    const scale: string[][] = [];
    for (const n of quick ? [1, 20] : [1, 20, 100]) {
      const [f0, k0] = [fulcio.log.length, rekor.log.length];
      const r = await counter.count({ mode: 'open', n, format: 'legacy', verify: true, repository: 'bench/scale', inputs: sigstore });
      const [f, k] = [fulcio.log.length - f0, rekor.log.length - k0];
      scale.push([String(n), String(f), (k / n).toFixed(1), (r.ms / 1000).toFixed(2), (r.ms / n).toFixed(0), (r.requests / n).toFixed(1)]);
      console.error(`  N=${n}: ${(r.ms / 1000).toFixed(2)} s, Fulcio ${f}, Rekor/sig ${(k / n).toFixed(1)}, registry/sig ${(r.requests / n).toFixed(1)}`);
    }

    const start = await startupMs(9);
    const distBytes = dirSize(path.join(REPO_ROOT, 'dist'));

    const table = [
      floorTable(floor),
      '',
      '| case | registry requests (401s included) | of which 401 | token requests | Rekor requests |',
      '|---|---|---|---|---|',
      ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
      '',
      '| N digests | Fulcio requests | Rekor requests / signature | wall time (s) | ms / signature | registry requests / signature (with self-check) |',
      '|---|---|---|---|---|---|',
      ...scale.map((r) => `| ${r.join(' | ')} |`),
      '',
      `start-up of node dist/index.js to its first line (median of 9): ${start.toFixed(0)} ms (target < 300 ms)`,
      `dist/: ${(distBytes / 1024 / 1024).toFixed(2)} MiB (target < 3 MiB)`,
      `concurrency: 8 signatures in flight on a custom instance, 4 on public-good; machine: ${process.platform} ${process.arch}, Node ${process.version}`,
    ].join('\n');
    console.log(`\n${table}`);
  } finally {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await counter.stop();
    await sandbox.stop();
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
