/**
 * Runs the built action (`node dist/index.js`) the way the GitHub runner does: inputs as INPUT_*
 * with action.yml's defaults, the file-command files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...), the
 * event JSON, a fresh RUNNER_TEMP and HOME. Nothing of the calling process's runner, action or
 * Docker environment leaks in, so a test sees exactly what a workflow step would.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Sandbox } from './index.js';
import type { GitHubClaims } from './oidc.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_EVENT = { repository: { visibility: 'public', private: false, full_name: 'kupecloud/demo-app' } };

export interface RunOptions {
  /** Action inputs by their action.yml name (`signature-format`); unset ones take action.yml's default. */
  inputs: Record<string, string>;
  /** Extra variables; they win over the runner's. `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** The workflow event (GITHUB_EVENT_PATH); default: a push to the public kupecloud/demo-app. */
  event?: Record<string, unknown>;
  timeoutMs?: number;
  /** Working directory (the runner's GITHUB_WORKSPACE); default: a fresh empty directory. */
  cwd?: string;
  /** The script to run; default: $SIGN_ACTION_ENTRY, else dist/index.js of this repository. */
  entry?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  runnerTemp: string;
  /** Removes this run's temporary directories (they also go when this process exits). */
  cleanup(): void;
}

/** Variables of the calling process that a real runner would not hand to the step. */
const NOT_INHERITED = /^(INPUT_|ACTIONS_|GITHUB_|RUNNER_|STATE_|DOCKER_CONFIG$|DOCKER_AUTH_CONFIG$|REGISTRY_AUTH)/;

const runDirs = new Set<string>();
let runsParent: string | undefined;

/**
 * One parent dir per process for all runs, removed by a janitor shell when our end of its stdin
 * closes, i.e. when this process exits in any way. Needed because under Jest `process.on('exit')`
 * is registered on a sandboxed copy of `process` and never fires.
 */
function runsParentDir(): string {
  if (runsParent) return runsParent;
  runsParent = mkdtempSync(join(tmpdir(), 'sign-sandbox-runs-'));
  const janitor = spawn('/bin/sh', ['-c', 'cat >/dev/null; rm -rf "$0"', runsParent], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  // Neither the janitor nor its pipe may keep this process (or a Jest worker) alive.
  janitor.unref();
  (janitor.stdin as unknown as { unref(): void }).unref();
  return runsParent;
}

/** Removes the temp dirs of every run so far (call it in afterAll to free space early). */
export function cleanupRuns(): void {
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
  runDirs.clear();
}
process.on('exit', () => {
  cleanupRuns();
  if (runsParent) rmSync(runsParent, { recursive: true, force: true });
});

/** action.yml inputs with the values the runner gives when a workflow sets nothing. */
export function actionDefaults(actionYml = join(REPO_ROOT, 'action.yml')): Record<string, string> {
  const action = parseYaml(readFileSync(actionYml, 'utf8')) as { inputs?: Record<string, { default?: unknown }> };
  const defaults: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const value = spec?.default === undefined || spec.default === null ? '' : String(spec.default);
    // Expressions (`${{ github.token }}`) have no meaning outside GitHub: the sandbox has no token to give.
    defaults[name] = value.includes('${{') ? '' : value;
  }
  return defaults;
}

export const inputVariable = (name: string): string => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

/** Reads the GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` heredocs. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const end = lines.indexOf(delimiter, i + 1);
      if (end < 0) throw new Error(`GITHUB_OUTPUT: output "${name}" opens <<${delimiter} but never closes it`);
      outputs[name] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    } else if (line.trim() !== '') {
      throw new Error(`GITHUB_OUTPUT: cannot read line "${line}"`);
    }
  }
  return outputs;
}

export async function runAction(opts: RunOptions): Promise<RunResult> {
  const root = mkdtempSync(join(runsParentDir(), 'run-'));
  runDirs.add(root);
  const cleanup = (): void => {
    rmSync(root, { recursive: true, force: true });
    runDirs.delete(root);
  };
  // The same layout as a hosted runner: RUNNER_TEMP holds the file-command files.
  const runnerTemp = join(root, '_temp');
  const commands = join(runnerTemp, '_runner_file_commands');
  const home = join(root, 'home');
  const workspace = opts.cwd ?? join(root, 'workspace');
  for (const dir of [commands, home, workspace, join(root, '_github_workflow')]) mkdirSync(dir, { recursive: true });
  const file = (name: string): string => {
    const path = join(commands, `${name}_${randomUUID()}`);
    writeFileSync(path, '');
    return path;
  };
  const outputPath = file('set_output');
  const summaryPath = file('step_summary');
  const event = opts.event ?? DEFAULT_EVENT;
  const eventPath = join(root, '_github_workflow', 'event.json');
  writeFileSync(eventPath, JSON.stringify(event));
  const repository = (event.repository as { full_name?: string } | undefined)?.full_name ?? DEFAULT_EVENT.repository.full_name;

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !NOT_INHERITED.test(key)) env[key] = value;
  for (const [name, value] of Object.entries({ ...actionDefaults(), ...opts.inputs })) env[inputVariable(name)] = value;
  Object.assign(env, {
    HOME: home,
    RUNNER_TEMP: runnerTemp,
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_ENV: file('set_env'),
    GITHUB_PATH: file('add_path'),
    GITHUB_STATE: file('save_state'),
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: repository,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_WORKSPACE: workspace,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
  });
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }

  // SIGN_ACTION_ENTRY runs another build than dist/ (a change being tried before dist/ is rebuilt).
  const entry = opts.entry ?? (process.env.SIGN_ACTION_ENTRY || join(REPO_ROOT, 'dist', 'index.js'));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [entry], { cwd: workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const tail = Buffer.concat(out).toString('utf8').slice(-2000);
      reject(new Error(`the action did not finish within ${timeoutMs} ms and was killed; last output:\n${tail}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ code: exitCode ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });

  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(outputPath, 'utf8')),
    summary: readFileSync(summaryPath, 'utf8'),
    runnerTemp,
    cleanup,
  };
}

/** The runner variables that let the action get an OIDC token from the sandbox (with `claims`, if given). */
export function runnerEnvFor(sandbox: Pick<Sandbox, 'oidc'>, claims?: Partial<GitHubClaims>): Record<string, string> {
  if (!sandbox.oidc) throw new Error('this sandbox was started without OIDC: start it with { oidc: true }');
  const request = claims ? sandbox.oidc.issue(claims) : sandbox.oidc.defaultRequest;
  return { ACTIONS_ID_TOKEN_REQUEST_URL: request.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: request.requestToken };
}

/** The inputs that point the action at the sandbox's Sigstore instead of the public one. */
export function sigstoreInputsFor(sandbox: Pick<Sandbox, 'sigstore'>): Record<string, string> {
  if (!sandbox.sigstore) throw new Error('this sandbox was started without Sigstore: start it with { sigstore: true }');
  const s = sandbox.sigstore;
  return { sigstore: 'custom', 'fulcio-url': s.fulcioUrl, 'rekor-url': s.rekorUrl, 'tsa-url': s.tsaUrl, 'trusted-root': s.trustedRootPath };
}

/**
 * `sigstore: public-good`, with the action's testing hook pointed at the sandbox's TUF repository
 * (or `tuf`, another one): the services come from the signing config it publishes.
 */
export function publicGoodFor(
  sandbox: Pick<Sandbox, 'sigstore'>,
  tuf?: { url: string; rootPath: string },
): { inputs: Record<string, string>; env: Record<string, string> } {
  if (!sandbox.sigstore) throw new Error('this sandbox was started without Sigstore: start it with { sigstore: true }');
  const repo = tuf ?? sandbox.sigstore.tuf;
  return { inputs: { sigstore: 'public-good' }, env: { SIGN_ACTION_TUF_MIRROR: repo.url, SIGN_ACTION_TUF_ROOT: repo.rootPath } };
}
