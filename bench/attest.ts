/**
 * The attestation part of `npm run bench`: build provenance plus a 5 MiB SBOM
 * attested about N = 1 and 20 images in one run, per layout. Each case runs
 * twice, with and without the attestations, so the registry and Rekor
 * requests an attestation costs are the difference (signatures, the
 * self-check of signatures and the auth handshake cancel out). Counted at the
 * relaying proxies bench.ts puts in front of the registry and Rekor.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Sandbox } from '../sandbox/index.js';
import type { FaultProxy } from '../sandbox/fault-proxy.js';
import { pushImage, type RegistryAccess } from '../sandbox/oci.js';
import { runAction, runnerEnvFor } from '../sandbox/runner.js';

export interface AttestBenchContext {
  sandbox: Sandbox;
  registry: RegistryAccess;
  /** Relays to the registry and to Rekor v1, each logging every exchange. */
  regProxy: FaultProxy;
  rekor: FaultProxy;
  /** The inputs bench.ts signs with (custom instance through the proxies, credentials). */
  inputs: Record<string, string>;
}

/** An SPDX JSON document of about `bytes` bytes. */
function writeSbom(bytes: number): string {
  const packages = [];
  for (let i = 0, size = 0; size < bytes; i++) {
    const pkg = { SPDXID: `SPDXRef-Package-${i}`, name: `pkg-${i}`, versionInfo: '1.0.0', downloadLocation: 'NOASSERTION', licenseConcluded: 'NOASSERTION' };
    packages.push(pkg);
    size += JSON.stringify(pkg).length + 1;
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sbom-')), 'sbom.spdx.json');
  fs.writeFileSync(file, JSON.stringify({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'bench', packages }));
  return file;
}

/** Returns the markdown table; prints progress on stderr. */
export async function benchAttestations(ctx: AttestBenchContext): Promise<string> {
  const sbom = writeSbom(5 * 1024 * 1024);
  const attestInputs = { attest: 'provenance', 'predicate-type': 'https://spdx.dev/Document', 'predicate-path': sbom };
  const run = async (repo: string, n: number, extra: Record<string, string>) => {
    const digests = await Promise.all(Array.from({ length: n }, () => pushImage(ctx.registry, repo)));
    const [r0, k0] = [ctx.regProxy.log.length, ctx.rekor.log.length];
    const started = performance.now();
    const res = await runAction({
      inputs: { ...ctx.inputs, images: digests.map((d) => `${ctx.regProxy.host}/${repo}@${d.digest}`).join('\n'), ...extra },
      env: runnerEnvFor(ctx.sandbox),
      timeoutMs: 900_000,
    });
    if (res.code !== 0) throw new Error(`attestation bench run failed:\n${res.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).slice(-20).join('\n')}`);
    // Every request the registry sees, 401s included (as the signature figures count them).
    const registry = ctx.regProxy.log.length - r0;
    return { ms: performance.now() - started, registry, rekor: ctx.rekor.log.length - k0, attestations: res.outputs.attestations ? JSON.parse(res.outputs.attestations).length : 0 };
  };
  const lines = [
    '| layout | N images | attestations (provenance + 5 MiB SBOM each) | registry requests / attestation | Rekor requests / attestation | wall time (s), with attestations | wall time (s), signatures only |',
    '|---|---|---|---|---|---|---|',
  ];
  console.error('\nattestations (verify: true; each case against the same run without attestations):');
  for (const format of ['legacy', 'bundle'] as const) {
    for (const n of [1, 20]) {
      const base = await run(`bench/att-${format}-${n}-base`, n, { 'signature-format': format });
      const withAtt = await run(`bench/att-${format}-${n}`, n, { 'signature-format': format, ...attestInputs });
      const count = 2 * n;
      const cells = [format, n, withAtt.attestations, ((withAtt.registry - base.registry) / count).toFixed(1), ((withAtt.rekor - base.rekor) / count).toFixed(1), (withAtt.ms / 1000).toFixed(2), (base.ms / 1000).toFixed(2)];
      console.error(`  ${cells.join(' | ')}`);
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  fs.rmSync(path.dirname(sbom), { recursive: true, force: true });
  return lines.join('\n');
}
