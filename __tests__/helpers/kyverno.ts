/**
 * Kyverno sets up a TUF client for every keyless check, even with the keys in the policy. A
 * cluster for a custom Sigstore instance points it at that instance's TUF repository (the
 * controller's --tufMirror/--tufRoot; `cosign.tuf` in an ImageValidatingPolicy). For the CLI on
 * the sandbox: the sandbox's TUF repository, and one $TUF_ROOT cache per test file, which the
 * first ImageValidatingPolicy carrying `cosign.tuf` initialises for the ClusterPolicy runs too.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../../sandbox/index.js';

export interface KyvernoTuf {
  /** The ImageValidatingPolicy with `cosign.tuf` naming the sandbox's TUF repository in every attestor. */
  withTuf(ivpYaml: string): string;
  /** The `TUF_ROOT` for every `kyverno apply` of the file. */
  env: Record<string, string>;
}

export function kyvernoTuf(sandbox: Sandbox): KyvernoTuf {
  const t = sandbox.sigstore!.tuf;
  const root = readFileSync(t.rootPath).toString('base64');
  return {
    withTuf: (ivp) => ivp.replace(/^( {6}cosign:\n)/gm, `$1        tuf:\n          mirror: ${t.url}\n          root:\n            data: ${root}\n`),
    env: { TUF_ROOT: mkdtempSync(join(tmpdir(), 'kyverno-tuf-')) },
  };
}
