/**
 * The sandbox's entry points: `npm run sandbox` (sandbox/cli.ts) and the runner harness that runs
 * the action like a GitHub runner (sandbox/runner.ts, exercised here with a stand-in script).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDefaults, cleanupRuns, inputVariable, parseOutputFile, REPO_ROOT, runAction } from '../../sandbox/runner.js';
import { getManifest, pushImage } from '../../sandbox/oci.js';
import { descendants, eventually, isAlive } from '../helpers/processes.js';

describe('npm run sandbox', () => {
  const KEYS = [
    'SANDBOX_REGISTRY_OPEN',
    'SANDBOX_REGISTRY_HTPASSWD',
    'SANDBOX_REGISTRY_TOKEN',
    'SANDBOX_REGISTRY_USERNAME',
    'SANDBOX_REGISTRY_PASSWORD',
    'FULCIO_URL',
    'REKOR_URL',
    'TSA_URL',
    'TRUSTED_ROOT',
    'SIGN_ACTION_TUF_MIRROR',
    'SIGN_ACTION_TUF_ROOT',
    'ACTIONS_ID_TOKEN_REQUEST_URL',
    'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  ];
  let cli: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  beforeAll(async () => {
    cli = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['sandbox/cli.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => cli.once('exit', (code, signal) => resolve({ code, signal })));
    cli.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    cli.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    // The hint on stderr comes after the KEY=VALUE lines.
    const ready = await eventually(() => stderr.includes('Ctrl-C') || cli.exitCode !== null, 45_000);
    if (!ready || cli.exitCode !== null) throw new Error(`sandbox CLI did not come up:\n${stdout}\n${stderr}`);
  }, 60_000);

  afterAll(() => {
    if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
  });

  const printed = (): Record<string, string> =>
    Object.fromEntries(
      stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  it('prints every key, and only KEY=VALUE lines on stdout', () => {
    expect(Object.keys(printed()).sort()).toEqual([...KEYS].sort());
    for (const line of stdout.trim().split('\n')) expect(line).toMatch(/^[A-Z_]+=\S+$/);
    const env = printed();
    for (const key of ['SANDBOX_REGISTRY_OPEN', 'SANDBOX_REGISTRY_HTPASSWD', 'SANDBOX_REGISTRY_TOKEN']) {
      expect(env[key]).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    for (const key of ['FULCIO_URL', 'REKOR_URL', 'TSA_URL', 'ACTIONS_ID_TOKEN_REQUEST_URL']) {
      expect(env[key]).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    }
    expect(JSON.parse(readFileSync(env.TRUSTED_ROOT, 'utf8'))).toHaveProperty('mediaType');
  });

  it('serves registries that take the printed credentials', async () => {
    const env = printed();
    for (const key of ['SANDBOX_REGISTRY_HTPASSWD', 'SANDBOX_REGISTRY_TOKEN']) {
      const reg = { url: `http://${env[key]}`, username: env.SANDBOX_REGISTRY_USERNAME, password: env.SANDBOX_REGISTRY_PASSWORD };
      const image = await pushImage(reg, 'cli/check', { tag: 'v1' });
      expect((await getManifest(reg, 'cli/check', 'v1'))?.digest).toBe(image.digest);
    }
  });

  it('exits 0 on SIGTERM and leaves no docker-registry behind', async () => {
    const registries = descendants(cli.pid!, 'docker-registry');
    expect(registries).toHaveLength(3);
    cli.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await eventually(() => registries.every((pid) => !isAlive(pid)))).toBe(true);
    await expect(fetch(`http://${printed().SANDBOX_REGISTRY_OPEN}/v2/`)).rejects.toThrow();
  });
});

describe('runAction', () => {
  let dir: string;
  let entry: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sign-runner-test-'));
    entry = join(dir, 'fake-action.mjs');
    // A stand-in for dist/index.js: reports what it was given and writes outputs both ways.
    writeFileSync(
      entry,
      `import { appendFileSync, readFileSync } from 'node:fs';
       const e = process.env;
       appendFileSync(e.GITHUB_OUTPUT, 'simple=one=two\\nmulti<<ghadelimiter_42\\nline 1\\nline 2\\nghadelimiter_42\\n');
       appendFileSync(e.GITHUB_STEP_SUMMARY, '### done\\n');
       const inputs = Object.fromEntries(Object.entries(e).filter(([k]) => k.startsWith('INPUT_')));
       const actions = Object.keys(e).filter((k) => k.startsWith('ACTIONS_'));
       console.log(JSON.stringify({ inputs, actions, home: e.HOME, temp: e.RUNNER_TEMP, repo: e.GITHUB_REPOSITORY,
         server: e.GITHUB_SERVER_URL, gha: e.GITHUB_ACTIONS, cwd: process.cwd(),
         event: JSON.parse(readFileSync(e.GITHUB_EVENT_PATH, 'utf8')) }));
       process.exit(Number(e.INPUT_EXIT || 0));`,
    );
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    cleanupRuns();
  });

  it('passes inputs with action.yml defaults, and only the runner environment', async () => {
    process.env.INPUT_LEAKED = 'from the parent';
    process.env.ACTIONS_RUNTIME_TOKEN = 'parent secret';
    try {
      const result = await runAction({ entry, inputs: { images: 'x/y:z', 'registry-username': 'me' } });
      const seen = JSON.parse(result.stdout);
      const defaults = actionDefaults();
      expect(seen.inputs[inputVariable('images')]).toBe('x/y:z');
      expect(seen.inputs['INPUT_REGISTRY-USERNAME']).toBe('me');
      expect(seen.inputs['INPUT_SIGNATURE-FORMAT']).toBe(defaults['signature-format']);
      expect(seen.inputs['INPUT_SIGNATURE-FORMAT']).toBe('legacy');
      expect(seen.inputs['INPUT_GITHUB-TOKEN']).toBe('');
      expect(Object.keys(seen.inputs).sort()).toEqual(Object.keys(defaults).map(inputVariable).sort());
      expect(seen.actions).toEqual([]);
      expect(seen.home).not.toBe(process.env.HOME);
      expect(seen.temp).toBe(result.runnerTemp);
      expect(seen.repo).toBe('kupecloud/demo-app');
      expect(seen.server).toBe('https://github.com');
      expect(seen.gha).toBe('true');
      expect(seen.event.repository.visibility).toBe('public');
      expect(result.outputs).toEqual({ simple: 'one=two', multi: 'line 1\nline 2' });
      expect(result.summary).toBe('### done\n');
      expect(result.code).toBe(0);
      result.cleanup();
      expect(existsSync(result.runnerTemp)).toBe(false);
    } finally {
      delete process.env.INPUT_LEAKED;
      delete process.env.ACTIONS_RUNTIME_TOKEN;
    }
  });

  it('passes the event, extra env and the exit code through', async () => {
    const event = { repository: { visibility: 'private', private: true, full_name: 'acme/secret' } };
    const result = await runAction({ entry, inputs: { exit: '3' }, event, env: { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/t' } });
    const seen = JSON.parse(result.stdout);
    expect(result.code).toBe(3);
    expect(seen.event).toEqual(event);
    expect(seen.repo).toBe('acme/secret');
    expect(seen.actions).toEqual(['ACTIONS_ID_TOKEN_REQUEST_URL']);
  });

  it('reads the output file format of @actions/core and refuses broken heredocs', () => {
    expect(parseOutputFile('a=1\nb<<EOF\nx\n\ny\nEOF\nc=\n')).toEqual({ a: '1', b: 'x\n\ny', c: '' });
    expect(() => parseOutputFile('b<<EOF\nnever closed\n')).toThrow(/never closes/);
  });
});
