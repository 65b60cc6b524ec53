/**
 * The real verifiers (cosign 2 and 3, policy-tester, the Kyverno CLI, gh), built by
 * scripts/ensure-verifiers.sh from their Go modules into a cache outside the clone.
 * The versions are read from that script, so it stays the one place that pins them.
 *
 * A tool that is missing makes its tests skip with the reason, except on CI (CI=true),
 * where a tool that should build and did not fails the run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../sandbox/runner.js';

export type ToolName = 'cosign-v2' | 'cosign-v3' | 'policy-tester' | 'kyverno' | 'gh';

export interface Tool {
  name: ToolName;
  version: string;
  module: string;
  path: string;
}

const SCRIPT = join(REPO_ROOT, 'scripts/ensure-verifiers.sh');

export interface PinnedTool {
  name: ToolName;
  version: string;
  module: string;
  binary: string;
}

/** The pinned rows of the script: `"<tool> <version> <module> <package> <binary> <required>"`. */
export function pinnedTools(script = readFileSync(SCRIPT, 'utf8')): PinnedTool[] {
  const rows = [...script.matchAll(/^\s*"(\S+)\s+(v\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(required|optional)"\s*$/gm)];
  return rows.map((m) => ({ name: m[1] as ToolName, version: m[2], module: m[3], binary: m[5] }));
}

const cacheDir = (): string => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sign-action/tools');

/** Where the tool's binary is (or would be), for the pinned version. */
export function toolPath(name: ToolName): { tool: Omit<Tool, 'path'>; path: string } {
  const row = pinnedTools().find((t) => t.name === name);
  if (!row) throw new Error(`scripts/ensure-verifiers.sh pins no tool named ${name}`);
  const { binary, ...tool } = row;
  return { tool, path: join(cacheDir(), `${name}-${row.version}`, binary) };
}

const ensured = new Map<ToolName, Tool | string>();

/**
 * The tool, building it first if needed (minutes the first time, instant later), or the
 * reason it is not there. Never throws: callers decide between skip and fail.
 */
export function ensureTool(name: ToolName): Tool | string {
  const known = ensured.get(name);
  if (known) return known;
  const { tool, path } = toolPath(name);
  let result: Tool | string;
  if (!existsSync(path)) {
    const goThere = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
    if (!goThere) {
      result = `${name} is not built and Go is not installed: install Go 1.26+ and run \`npm run verifiers\``;
    } else {
      const run = spawnSync('bash', [SCRIPT, name], { encoding: 'utf8', env: { ...process.env, REQUIRE_ALL_VERIFIERS: '' }, timeout: 40 * 60_000 });
      result = existsSync(path) ? { ...tool, path } : `${name} ${tool.version} could not be built:\n${(run.stderr || run.error?.message || '').slice(-3000)}`;
    }
  } else {
    result = { ...tool, path };
  }
  ensured.set(name, result);
  return result;
}

/** On CI every tool must be there; elsewhere a missing one skips its tests with the reason. */
export const mustHaveVerifiers = (): boolean => process.env.CI === 'true';

/**
 * `describe` when every tool named is available; otherwise `describe.skip` after saying why,
 * or (on CI) a suite with one failing test that shows the reason.
 */
export function describeWithTools(title: string, names: ToolName[], body: (tools: Record<ToolName, Tool>) => void): void {
  const tools = {} as Record<ToolName, Tool>;
  const missing: string[] = [];
  for (const n of names) {
    const t = ensureTool(n);
    if (typeof t === 'string') missing.push(t);
    else tools[n] = t;
  }
  if (missing.length === 0) {
    describe(title, () => body(tools));
  } else if (mustHaveVerifiers()) {
    describe(title, () => {
      it('has the real verifiers it needs (CI builds them: scripts/ensure-verifiers.sh)', () => {
        throw new Error(missing.join('\n'));
      });
    });
  } else {
    console.warn(`skipping "${title}": ${missing.join('; ')}`);
    describe.skip(title, () => body(tools));
  }
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command line, for messages (no secrets: tokens go in files or the environment). */
  command: string;
}

/** Runs a tool with a timeout; never throws. Tools are kept offline: no TUF fetches, no update checks. */
export function runTool(bin: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; input?: string } = {}): Promise<ToolRun> {
  const command = [bin.split('/').slice(-2).join('/'), ...args].join(' ');
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs ?? 120_000} ms]`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}\n${err.message}`, command });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, command });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A readable account of a tool run, for expectation messages. */
export const describeRun = (r: ToolRun): string => `$ ${r.command}\nexit ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-6000)}`;

/** Asserts the run's exit status, showing the tool's output when it is not what was expected. */
export function expectExit(r: ToolRun, expected: 'pass' | 'fail'): void {
  const ok = expected === 'pass' ? r.code === 0 : r.code !== 0 && r.code !== null;
  if (!ok) throw new Error(`expected the tool to ${expected === 'pass' ? 'accept' : 'reject'}, but it did not:\n${describeRun(r)}`);
}

/** Per test: each real tool call takes seconds, more on a loaded 2-core machine. */
export const INTEROP_TIMEOUT = 300_000;

/** An admission engine's verdict (exit 0 admits); a killed run is neither. Shows the tool's output when wrong. */
export function expectVerdict(run: ToolRun, admitted: boolean, what: string): void {
  const ok = admitted ? run.code === 0 : run.code !== 0 && run.code !== null && !/killed after/.test(run.stderr);
  if (!ok) throw new Error(`${what}: expected ${admitted ? 'admitted' : 'refused'}\n${describeRun(run)}`);
}

/** A Pod running `image`, as `kyverno apply --resource` reads it. */
export const podYaml = (image: string): string =>
  ['apiVersion: v1', 'kind: Pod', 'metadata: { name: app, namespace: default }', 'spec:', '  containers:', '    - name: app', `      image: ${image}`].join('\n');
