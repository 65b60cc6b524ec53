/**
 * publish-image.yaml finds its own repository and commit in the OIDC token's
 * job_workflow_ref / job_workflow_sha claims, to run the action from there.
 * Its script runs here with bash, curl and jq (as on ubuntu-latest) against a
 * token endpoint that answers like GitHub's.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

type Step = { id?: string; run?: string };
const workflow = parse(fs.readFileSync(path.join(process.cwd(), '.github/workflows/publish-image.yaml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
const script = workflow.jobs.publish.steps.find((s) => s.id === 'self')!.run!;

const SHA = '0123456789abcdef0123456789abcdef01234567';
const REQUEST_TOKEN = 'request-token-SECRET';
const b64url = (data: string) => Buffer.from(data).toString('base64url');

/** A JWT whose payload holds `claims`, padded so that its base64url needs `-`, `_` and re-padding to decode. */
function jwt(claims: Record<string, unknown>): string {
  for (let pad = ''; ; pad += 'x') {
    const payload = b64url(JSON.stringify({ ...claims, pad, odd: '??>>~~' }));
    if (/-/.test(payload) && /_/.test(payload) && payload.length % 4 !== 0) return `${b64url('{"alg":"RS256"}')}.${payload}.c2lnbmF0dXJl`;
  }
}

let server: http.Server;
let url: string;
let answer: { status: number; body: string };
const seen: { authorization?: string; audience?: string | null }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push({ authorization: req.headers.authorization, audience: u.searchParams.get('audience') });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token?api-version=2.0`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => (seen.length = 0));

async function runSelf(claims: Record<string, unknown> | undefined, env: Record<string, string> = {}) {
  const token = claims ? jwt(claims) : '';
  answer = claims ? { status: 200, body: JSON.stringify({ count: 1, value: token }) } : { status: 403, body: '{"message":"no"}' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-self-'));
  const output = path.join(dir, 'output');
  // stdin not a socket: bash would take that for rshd and read ~/.bashrc.
  const child = spawn('bash', ['-e', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const out = fs.existsSync(output) ? fs.readFileSync(output, 'utf8') : '';
  fs.rmSync(dir, { recursive: true, force: true });
  return { status, stdout, stderr, output: out, token };
}

describe("publish-image.yaml: finding this workflow's own commit", () => {
  it.each([
    ['a tag', 'refs/tags/v1.2.3'],
    ['a full SHA', SHA],
  ])('called at %s: the repository and commit of the reusable workflow, never the caller', async (_what, ref) => {
    const r = await runSelf({
      repository: 'acme/app',
      workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main',
      job_workflow_ref: `kupecloud/sign-action/.github/workflows/publish-image.yaml@${ref}`,
      job_workflow_sha: SHA,
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.output).toBe(`repository=kupecloud/sign-action\nsha=${SHA}\n`);
    expect(seen).toEqual([{ authorization: `bearer ${REQUEST_TOKEN}`, audience: 'kupecloud-sign-action-self' }]);
    // The token is masked before anything else is printed, and printed nowhere else.
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`::add-mask::${r.token}`);
    expect(lines.slice(1).join('\n')).not.toContain(r.token.split('.')[1]);
  });

  it.each([
    ['no job_workflow_sha', { job_workflow_ref: 'kupecloud/sign-action/.github/workflows/publish-image.yaml@refs/heads/main' }, 'job_workflow_sha'],
    ['a short SHA', { job_workflow_ref: 'kupecloud/sign-action/.github/workflows/p.yaml@x', job_workflow_sha: SHA.slice(0, 7) }, 'job_workflow_sha'],
    ['a ref that names no workflow', { job_workflow_ref: 'kupecloud/sign-action@refs/heads/main', job_workflow_sha: SHA }, 'job_workflow_ref'],
    ['a ref with a bad owner', { job_workflow_ref: 'a b/c/.github/workflows/p.yaml@x', job_workflow_sha: SHA }, 'job_workflow_ref'],
  ])('fails on %s, naming the claim', async (_what, claims, claim) => {
    const r = await runSelf(claims);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`::error title=publish-image: cannot find its own commit::the token's ${claim}`));
    expect(r.output).toBe('');
  });

  it('fails when no token is given, or without the id-token permission', async () => {
    const refused = await runSelf(undefined);
    expect([refused.status, refused.stdout]).toEqual([1, expect.stringContaining('the OIDC token request failed')]);
    const unset = await runSelf({ job_workflow_sha: SHA }, { ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' });
    expect([unset.status, unset.stdout]).toEqual([1, expect.stringContaining('must grant id-token: write')]);
    expect(seen).toHaveLength(1);
  });
});
