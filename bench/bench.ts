/**
 * `npm run bench`: what signing costs, measured on the sandbox. Prints figures,
 * asserts nothing (tests assert behaviour; this measures it):
 *  - registry HTTP requests per signature (legacy first, legacy append, bundle
 *    with the fallback tag), counted at a relaying proxy in front of the registry;
 *  - Fulcio requests per run for N = 1, 20, 100 digests; Rekor requests per signature;
 *  - wall time for N = 1, 20, 100 distinct digests in one run;
 *  - attestations (bench/attest.ts): provenance + a 5 MiB SBOM for N = 1 and 20;
 *  - start-up of `node dist/index.js` and the size of dist/.
 * Usage: npm run bench [-- --quick]   (--quick: N = 1 and 20 only)
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startSandbox } from '../sandbox/index.js';
import { startFaultProxy, type FaultProxy } from '../sandbox/fault-proxy.js';
import { pushImage } from '../sandbox/oci.js';
import { REPO_ROOT, runAction, runnerEnvFor, sigstoreInputsFor } from '../sandbox/runner.js';
import { benchAttestations } from './attest.js';

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
  const sandbox = await startSandbox({ registries: ['token'] });
  const registry = sandbox.registries.token!;
  const proxies: FaultProxy[] = [];
  try {
    const regProxy = await startFaultProxy(registry.url);
    const fulcio = await startFaultProxy(sandbox.sigstore!.fulcioUrl);
    const rekor = await startFaultProxy(sandbox.sigstore!.rekorUrl);
    proxies.push(regProxy, fulcio, rekor);
    const creds = { 'registry-username': registry.username!, 'registry-password': registry.password! };
    const inputs = { ...sigstoreInputsFor(sandbox), 'fulcio-url': fulcio.url, 'rekor-url': rekor.url, 'tsa-url': '', ...creds };
    const counted = async (extra: Record<string, string>) => {
      const [r0, f0, k0, t0] = [regProxy.log.length, fulcio.log.length, rekor.log.length, registry.tokenRequests()];
      const challenges = () => regProxy.log.slice(r0).filter((e) => e.status === 401).length;
      const started = performance.now();
      const run = await runAction({ inputs: { ...inputs, ...extra }, env: runnerEnvFor(sandbox), timeoutMs: 300_000 });
      if (run.code !== 0) throw new Error(`run failed:\n${run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')}`);
      return {
        ms: performance.now() - started,
        registry: regProxy.log.length - r0 - challenges(),
        challenges: challenges(),
        tokens: registry.tokenRequests() - t0,
        fulcio: fulcio.log.length - f0,
        rekor: rekor.log.length - k0,
        signatures: JSON.parse(run.outputs.signatures).length as number,
      };
    };

    console.error('registry requests per signature (verify: false, as cosign sign; the per-run auth handshake shown apart):');
    row('case', 'registry requests', 'auth handshake (401 + token)', 'Rekor requests', 'target');
    const img = await pushImage(registry, 'bench/app');
    const image = `${regProxy.host}/bench/app@${img.digest}`;
    const handshake = (r: { challenges: number; tokens: number }) => `${r.challenges} + ${r.tokens}`;
    const first = await counted({ images: image, verify: 'false' });
    row('legacy, first signature', first.registry, handshake(first), first.rekor, '≤ 8 (cosign ≈ 16)');
    const append = await counted({ images: image, verify: 'false' });
    row('legacy, append to an existing .sig', append.registry, handshake(append), append.rekor, '≤ 8');
    const bundle = await counted({ images: `${regProxy.host}/bench/fresh@${(await pushImage(registry, 'bench/fresh')).digest}`, verify: 'false', 'signature-format': 'bundle' });
    row('bundle, fallback tag, first in its repository', bundle.registry, handshake(bundle), bundle.rekor, '≤ 9 (cosign ≈ 17)');
    const bundle2 = await counted({ images: `${regProxy.host}/bench/fresh@${(await pushImage(registry, 'bench/fresh')).digest}`, verify: 'false', 'signature-format': 'bundle' });
    row('bundle, fallback tag, later in the repository', bundle2.registry, handshake(bundle2), bundle2.rekor, '≤ 9');
    const checked = await counted({ images: `${regProxy.host}/bench/app@${(await pushImage(registry, 'bench/app')).digest}`, verify: 'true' });
    row('legacy, first, with the self-check (verify: true)', checked.registry, handshake(checked), checked.rekor, '(+2: reads its layer back)');

    console.error('\nscaling (verify: true, legacy, distinct digests in one repository):');
    const scale: string[][] = [];
    for (const n of quick ? [1, 20] : [1, 20, 100]) {
      const digests = await Promise.all(Array.from({ length: n }, () => pushImage(registry, 'bench/scale')));
      const r = await counted({ images: digests.map((d) => `${regProxy.host}/bench/scale@${d.digest}`).join('\n') });
      scale.push([String(n), String(r.fulcio), (r.rekor / n).toFixed(1), (r.ms / 1000).toFixed(2), (r.ms / n).toFixed(0), (r.registry / n).toFixed(1)]);
      console.error(`  N=${n}: ${(r.ms / 1000).toFixed(2)} s, Fulcio ${r.fulcio}, Rekor/sig ${(r.rekor / n).toFixed(1)}, registry/sig ${(r.registry / n).toFixed(1)}`);
    }

    const attestTable = await benchAttestations({ sandbox, registry, regProxy, rekor, inputs });
    const start = await startupMs(9);
    const distBytes = dirSize(path.join(REPO_ROOT, 'dist'));

    const table = [
      '| case | registry requests | auth handshake, once per run and repository (401 + token) | Rekor requests | target |',
      '|---|---|---|---|---|',
      ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
      '',
      '| N digests | Fulcio requests | Rekor requests / signature | wall time (s) | ms / signature | registry requests / signature (with self-check) |',
      '|---|---|---|---|---|---|',
      ...scale.map((r) => `| ${r.join(' | ')} |`),
      '',
      attestTable,
      '',
      `start-up of node dist/index.js to its first line (median of 9): ${start.toFixed(0)} ms (target < 300 ms)`,
      `dist/: ${(distBytes / 1024 / 1024).toFixed(2)} MiB (target < 3 MiB)`,
      `concurrency: 8 signatures in flight on a custom instance, 4 on public-good; machine: ${process.platform} ${process.arch}, Node ${process.version}`,
    ].join('\n');
    console.log(`\n${table}`);
  } finally {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await sandbox.stop();
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
