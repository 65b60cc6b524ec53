/**
 * End to end, secrets: the request token, the OIDC token it buys, every
 * registry password and every registry token must never appear in anything a
 * run produces — stdout and stderr (but for the `::add-mask::` commands the
 * runner consumes), outputs, the job summary, the files under RUNNER_TEMP,
 * error text — on success and on failure, even when a server echoes them
 * back. The actual token values are captured by fault proxies on the wire.
 * Credentials go to the registry host and the token realm it names only:
 * never along a redirect or an upload location to another host.
 *
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, registryPath, type FaultProxy } from '../../sandbox/fault-proxy.js';
import { startSandbox, type Sandbox, type SandboxRegistry } from '../../sandbox/index.js';
import { pushImage } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { visibleLog } from '../helpers/visible.js';


let sandbox: Sandbox;
let token: SandboxRegistry;
let htpasswd: SandboxRegistry;
/** In front of: the OIDC issuer, the token registry, its token realm, Fulcio. */
let oidc: FaultProxy;
let tokenRegistry: FaultProxy;
let realm: FaultProxy;
let fulcio: FaultProxy;
const proxies: FaultProxy[] = [];

const track = async (p: Promise<FaultProxy>): Promise<FaultProxy> => {
  const proxy = await p;
  proxies.push(proxy);
  return proxy;
};

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['token', 'htpasswd'] });
  token = sandbox.registries.token!;
  htpasswd = sandbox.registries.htpasswd!;
  const challenge = (await fetch(`${token.url}/v2/`)).headers.get('www-authenticate') ?? '';
  const realmUrl = /realm="([^"]+)"/.exec(challenge)![1];
  let renamer: FaultProxy;
  [oidc, renamer, realm, fulcio] = await Promise.all([
    track(startFaultProxy(sandbox.oidc!.url)),
    track(startFaultProxy(token.url)),
    track(startFaultProxy(new URL(realmUrl).origin)),
    track(startFaultProxy(sandbox.sigstore!.fulcioUrl)),
  ]);
  // Behind the proxy the tests drive, another names the realm proxy as the token realm, so what goes there is seen.
  const realmRenamed = (h: Record<string, unknown>) =>
    h['www-authenticate'] ? { 'www-authenticate': String(h['www-authenticate']).replace(new URL(realmUrl).origin, realm.url) } : {};
  renamer.inject({ fault: { kind: 'rewrite', headers: (h) => ({ ...h, ...realmRenamed(h) }) } });
  tokenRegistry = await track(startFaultProxy(renamer.url));
}, 60_000);
afterEach(() => [oidc, fulcio].forEach((p) => p.clear()));
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  cleanupRuns();
  await sandbox?.stop();
});

/** The runner variables, with the token request going through the OIDC proxy. */
function runnerEnv(): Record<string, string> {
  const env = runnerEnvFor(sandbox);
  const url = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL);
  return { ...env, ACTIONS_ID_TOKEN_REQUEST_URL: `${oidc.url}${url.pathname}${url.search}` };
}

const sign = (inputs: Record<string, string>, env: Record<string, string> = {}): Promise<RunResult> =>
  runAction({ inputs: { ...sigstoreInputsFor(sandbox), 'fulcio-url': fulcio.url, ...inputs }, env: { ...runnerEnv(), ...env } });

/** Every file the run left under RUNNER_TEMP (outputs, summary, env and state files, bundles). */
function filesUnder(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) => (statSync(path).isDirectory() ? filesUnder(path) : readFileSync(path, 'utf8')))
    .join('\n');
}

/** Every secret the proxies saw on the wire: OIDC tokens handed out, Authorization headers sent. */
function secretsOnTheWire(): string[] {
  const found = new Set<string>();
  for (const e of oidc.log) {
    const value = (JSON.parse(e.responseBody.toString() || '{}') as { value?: string }).value;
    // The whole token, its signature, and a piece of its claims (a token cut short is still a leak).
    if (value) found.add(value).add(value.split('.')[2]).add(value.split('.')[1].slice(0, 48));
  }
  for (const e of [...tokenRegistry.log, ...realm.log]) {
    const auth = e.headers.authorization;
    if (auth) found.add(auth.replace(/^(Bearer|Basic)\s+/i, ''));
    const issued = /"token":"([^"]+)"/.exec(e.responseBody.toString())?.[1];
    if (issued) found.add(issued);
  }
  return [...found];
}

/** Fails naming the secret's kind when any of `secrets` shows anywhere in what `run` produced. */
function expectNoLeak(run: RunResult, secrets: Record<string, string[]>): void {
  const produced = [visibleLog(run), ...Object.values(run.outputs), run.summary, filesUnder(run.runnerTemp)].join('\n');
  for (const [kind, values] of Object.entries(secrets)) {
    for (const value of values.filter((v) => v.length >= 8)) expect([kind, produced.includes(value)]).toEqual([kind, false]);
  }
}

const requestToken = (): string => runnerEnv().ACTIONS_ID_TOKEN_REQUEST_TOKEN;
const basic = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString('base64');

describe('secrets never show', () => {
  it('on success: request token, OIDC token, registry password and tokens; each is masked for the runner', async () => {
    const img = await pushImage(token, 'acme/secret-ok');
    const run = await sign({ images: `${tokenRegistry.host}/acme/secret-ok@${img.digest}`, 'registry-username': token.username!, 'registry-password': token.password! });
    expect(run.code).toBe(0);
    const wire = secretsOnTheWire();
    expect(wire.length).toBeGreaterThanOrEqual(3); // the OIDC token (and its signature) and at least one registry token
    const secrets = { 'request token': [requestToken()], 'registry password': [token.password!, basic(token.username!, token.password!)], 'token on the wire': wire };
    expectNoLeak(run, secrets);
    // Masked all the same: the runner hides them should anything print them.
    const masks = run.stdout.split('\n').filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length));
    for (const s of [requestToken(), token.password!, ...wire.filter((w) => w.includes('.'))]) expect(masks).toContain(s);
  });

  it('with attestations in both layouts (provenance from the token\'s claims, an SBOM): nothing secret in them either', async () => {
    const img = await pushImage(token, 'acme/secret-att');
    const dir = mkdtempSync(join(tmpdir(), 'secret-att-'));
    writeFileSync(join(dir, 'sbom.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', packages: [] }));
    const run = await sign({
      images: `${tokenRegistry.host}/acme/secret-att@${img.digest}`,
      'registry-username': token.username!,
      'registry-password': token.password!,
      'signature-format': 'both',
      attest: 'provenance',
      'predicate-type': 'https://spdx.dev/Document',
      'predicate-path': join(dir, 'sbom.json'),
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs.attestations)).toHaveLength(4);
    expectNoLeak(run, { 'request token': [requestToken()], 'registry password': [token.password!, basic(token.username!, token.password!)], 'token on the wire': secretsOnTheWire() });
  });

  it('when the push is refused: the read-only account and its token stay hidden', async () => {
    const img = await pushImage(token, 'acme/secret-denied');
    const ro = token.readOnly!;
    const run = await sign({ images: `${tokenRegistry.host}/acme/secret-denied@${img.digest}`, 'registry-username': ro.username, 'registry-password': ro.password });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/refused to let us write to acme\/secret-denied/);
    expectNoLeak(run, { 'request token': [requestToken()], 'registry password': [ro.password, basic(ro.username, ro.password)], 'token on the wire': secretsOnTheWire() });
  });

  it('when Fulcio and the registry echo what they were sent in their errors', async () => {
    const img = await pushImage(token, 'acme/secret-echo');
    // Fulcio's 400 quotes the request, OIDC token included.
    fulcio.inject({ method: 'POST', times: 1, fault: { kind: 'status', status: 400, body: (req) => JSON.stringify({ code: 400, message: `bad request: ${req.body.toString()}` }) } });
    const fulcioEcho = await sign({ images: `${tokenRegistry.host}/acme/secret-echo@${img.digest}`, 'registry-username': token.username!, 'registry-password': token.password! });
    expect(fulcioEcho.code).not.toBe(0);
    expect(fulcioEcho.stdout).toMatch(/Fulcio \(.*\) refused the certificate request: HTTP 400/);
    expect(fulcioEcho.stdout).toContain('***');
    expectNoLeak(fulcioEcho, { 'request token': [requestToken()], 'token on the wire': secretsOnTheWire() });

    // The registry's 500 quotes the Authorization header it got.
    const echo = tokenRegistry.inject({
      method: 'PUT',
      path: registryPath('uploads', 'acme/secret-echo'),
      fault: { kind: 'status', status: 500, headers: { 'retry-after': '0' }, body: (req) => JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `failed for ${req.headers.authorization}` }] }) },
    });
    try {
      const registryEcho = await sign({ images: `${tokenRegistry.host}/acme/secret-echo@${img.digest}`, 'registry-username': token.username!, 'registry-password': token.password! });
      expect(registryEcho.code).not.toBe(0);
      expect(echo.hits()).toBeGreaterThan(0);
      expect(registryEcho.stdout).toMatch(/answered HTTP 500 .*"failed for Bearer \*\*\*"/);
      expectNoLeak(registryEcho, { 'request token': [requestToken()], 'registry password': [token.password!], 'token on the wire': secretsOnTheWire() });
    } finally {
      echo.remove();
    }
  });

  it('when the OIDC token endpoint fails', async () => {
    const img = await pushImage(token, 'acme/secret-oidc');
    const failing = oidc.inject({ fault: { kind: 'status', status: 500, headers: { 'retry-after': '0' }, body: (req) => `internal error for ${req.headers.authorization}` } });
    const run = await sign({ images: `${tokenRegistry.host}/acme/secret-oidc@${img.digest}`, 'registry-username': token.username!, 'registry-password': token.password! });
    expect(run.code).not.toBe(0);
    expect(failing.hits()).toBeGreaterThan(1);
    expect(run.stdout).toMatch(/GitHub refused the OIDC token request \(HTTP 500\)/);
    expectNoLeak(run, { 'request token': [requestToken()] });
  });
});

describe('credentials go to the registry and its token realm only', () => {
  it('the password goes to the realm, the registry sees only its token, and nothing else sees either', async () => {
    const img = await pushImage(token, 'acme/secret-where');
    const before = { registry: tokenRegistry.log.length, realm: realm.log.length };
    const run = await sign({ images: `${tokenRegistry.host}/acme/secret-where@${img.digest}`, 'registry-username': token.username!, 'registry-password': token.password! });
    expect(run.code).toBe(0);
    const toRegistry = tokenRegistry.log.slice(before.registry).map((e) => e.headers.authorization).filter(Boolean);
    const toRealm = realm.log.slice(before.realm).map((e) => e.headers.authorization);
    expect(toRealm.length).toBeGreaterThan(0);
    expect(new Set(toRealm)).toEqual(new Set([`Basic ${basic(token.username!, token.password!)}`]));
    expect(toRegistry.length).toBeGreaterThan(0);
    for (const auth of toRegistry) expect(auth).toMatch(/^Bearer /);
    // Fulcio gets the OIDC token in the body, never registry credentials.
    for (const e of fulcio.log) expect(e.headers.authorization).toBeUndefined();
  });

  it('never along a redirect or an upload location to another host', async () => {
    const front = await track(startFaultProxy(htpasswd.url));
    // A "CDN" on another port: it holds its own access to the registry and must never get ours.
    const cdn = await track(startFaultProxy(htpasswd.url, { upstreamHeaders: { authorization: `Basic ${basic(htpasswd.username!, htpasswd.password!)}` } }));
    front.inject({ method: 'GET', path: registryPath('blobs'), fault: { kind: 'redirect', to: cdn.url } });
    front.inject({ method: 'POST', path: registryPath('uploads'), fault: { kind: 'rewrite', headers: (h) => ({ ...h, location: new URL(String(h.location), front.url).toString().replace(front.url, cdn.url) }) } });
    const img = await pushImage(htpasswd, 'acme/secret-cdn');
    const dockerConfig = mkdtempSync(join(tmpdir(), 'sign-secrets-docker-'));
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [front.host]: { auth: basic(htpasswd.username!, htpasswd.password!) } } }));

    const run = await sign({ images: `${front.host}/acme/secret-cdn@${img.digest}` }, { DOCKER_CONFIG: dockerConfig });
    expect(run.code).toBe(0);
    expect(run.outputs.verified).toBe('true');
    // The registry got the credentials; the CDN served uploads and reads without them.
    expect(front.log.some((e) => e.headers.authorization === `Basic ${basic(htpasswd.username!, htpasswd.password!)}`)).toBe(true);
    expect(cdn.log.filter((e) => e.method === 'PUT').length).toBeGreaterThan(0);
    expect(cdn.log.filter((e) => e.method === 'GET').length).toBeGreaterThan(0);
    for (const e of cdn.log) expect([e.method, e.path, e.headers.authorization]).toEqual([e.method, e.path, undefined]);
    expectNoLeak(run, { 'registry password': [htpasswd.password!, basic(htpasswd.username!, htpasswd.password!)] });
  });
});
