/**
 * `npm run demo` shows what a person sees in the Actions log: no `::add-mask::`
 * command and no secret (the OIDC token, the request token, the registry token
 * and password), each masked value as ***, and how many values were masked.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ActionsLogMask, printRun } from '../../scripts/demo-print.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage } from '../../sandbox/oci.js';
import { REPO_ROOT, cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor } from '../../sandbox/runner.js';

const masked = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('::add-mask::'))
    .map((l) => l.slice('::add-mask::'.length));
const JWT = /eyJ[\w-]{8,}\.eyJ/;

describe('the Actions log mask', () => {
  it('drops the commands and shows every masked value, and each line of a multi-line one, as ***', () => {
    const mask = new ActionsLogMask();
    mask.register('::add-mask::s3cret\nhello\n::add-mask::line-one%0Aline-two\n::add-mask::50%25 off\n::add-mask::s3cret\n::add-mask::  \n');
    const shown = mask.apply('::add-mask::s3cret\nuser s3cret, token s3cret-longer\nline-two alone\nline-one\n50% off\n50%25 off');
    expect(shown).toBe('user ***, token ***-longer\n*** alone\n***\n***\n50%25 off');
    expect(mask.apply('a line-one\nline-two b')).toBe('a *** b');
    expect(mask.count).toBe(3);
  });

  it('masks an output before shortening it, so no part of a secret is left', () => {
    const secret = 'S'.repeat(30);
    const printed: string[] = [];
    printRun({ code: 0, stdout: `::add-mask::${secret}\n`, stderr: '', outputs: { long: `${'x'.repeat(390)}${secret}` }, summary: '' }, (t) => printed.push(t));
    expect(printed.join('')).not.toContain('SSSSS');
    expect(printed.join('')).toContain('1 value(s) masked');
  });
});

describe('npm run demo', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['token'] });
  }, 60_000);
  afterAll(async () => {
    cleanupRuns();
    await sandbox?.stop();
  });

  it("prints a run as the Actions log shows it: none of the run's secrets, how many were masked", async () => {
    const registry = sandbox.registries.token!;
    const img = await pushImage(registry, 'kupecloud/demo-app');
    const env = runnerEnvFor(sandbox);
    const inputs = { images: `${registry.host}/kupecloud/demo-app@${img.digest}`, 'registry-username': registry.username!, 'registry-password': registry.password!, ...sigstoreInputsFor(sandbox) };
    const run = await runAction({ inputs, env });
    expect(run.code).toBe(0);
    const secrets = [...new Set(masked(run.stdout + run.stderr))];
    // What the raw output holds: the OIDC token (a JWT), the request token, the password, the registry token.
    expect(secrets).toEqual(expect.arrayContaining([registry.password!, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN, expect.stringMatching(/^eyJ/)]));
    expect(secrets.length).toBeGreaterThanOrEqual(4);

    let printed = '';
    printRun(run, (t) => (printed += t));
    expect(printed).not.toContain('::add-mask::');
    for (const secret of secrets) expect(printed).not.toContain(secret);
    expect(printed).not.toMatch(JWT);
    expect(printed).toContain(run.outputs['rekor-entry-url']);
    expect(printed).toContain(`${secrets.length} value(s) masked by the step`);
  }, 60_000);

  it('itself (scripts/demo.ts) prints no mask command and no token', async () => {
    const child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['scripts/demo.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toContain('Signing as https://github.com/');
    expect(out).not.toContain('::add-mask::');
    expect(out).not.toMatch(JWT);
    expect(out).toMatch(/\n[4-9] value\(s\) masked by the step/);
  }, 90_000);
});
