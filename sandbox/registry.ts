/**
 * Local OCI registries for the sandbox: Debian's `docker-registry` (CNCF distribution 2.8) started
 * with a config of our own (the package's config listens on :5000 on every interface), on a free
 * loopback port, with storage in a temp dir. Three flavours: open, htpasswd (Basic) and token
 * (Bearer, with the token server in ./token-server.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startTokenServer, type TokenServer } from './token-server.js';

export type RegistryMode = 'open' | 'htpasswd' | 'token';

export interface SandboxRegistry {
  mode: RegistryMode;
  /** `127.0.0.1:<port>`: what goes in image references. */
  host: string;
  url: string;
  username?: string;
  password?: string;
  /** Token mode: an account that may pull but not push (tests of refused pushes). */
  readOnly?: { username: string; password: string };
  /** PID of the docker-registry process (undefined for an external SANDBOX_REGISTRY). */
  pid?: number;
  /** Requests made to the token server (always 0 outside token mode). */
  tokenRequests(): number;
  stop(): Promise<void>;
}

export const SANDBOX_USERNAME = 'sandbox';
const TOKEN_SERVICE = 'sign-action-sandbox-registry';
const TOKEN_ISSUER = 'sign-action-sandbox-token-issuer';
const STARTUP_TIMEOUT_MS = 15_000;

export const REGISTRY_INSTALL_HINT =
  'Install it with `apt-get install docker-registry`, or set SANDBOX_REGISTRY=<host:port> to use a registry you run ' +
  '(then open mode only, no process started).';

/** Children still running, killed synchronously if this process exits without stopping them. */
const liveCleanups = new Set<() => void>();
let exitHookInstalled = false;
function registerCleanup(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const fn of liveCleanups) fn();
    });
  }
  liveCleanups.add(cleanup);
  return () => liveCleanups.delete(cleanup);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of an executable on PATH (or at a Debian fallback location), else undefined. */
export function findExecutable(name: string, fallback = `/usr/bin/${name}`): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name);
  }
  return isExecutable(fallback) ? fallback : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** bcrypt entry for the htpasswd file: distribution 2.8 accepts bcrypt only. */
function htpasswdLine(username: string, password: string): string {
  const binary = findExecutable('htpasswd');
  if (!binary) throw new Error('htpasswd is not installed: install it with `apt-get install apache2-utils`.');
  // -i reads the password from stdin, so it never shows in the process list.
  const result = spawnSync(binary, ['-niB', username], { input: password, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`htpasswd failed: ${result.stderr.trim()}`);
  return result.stdout.trim() + '\n';
}

function registryConfig(port: number, storageDir: string, auth: object | undefined): string {
  // JSON is valid YAML, and saves us from YAML quoting.
  return JSON.stringify({
    version: '0.1',
    log: { level: 'error', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(24).toString('hex') },
    health: { storagedriver: { enabled: false } },
    ...(auth ? { auth } : {}),
  });
}

async function waitUntilServing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited during startup (${child.exitCode ?? child.signalCode}): ${output()}`);
    }
    try {
      // Any answer (200 open, 401 with auth) means it is serving.
      await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`docker-registry did not answer on ${url}/v2/ within ${STARTUP_TIMEOUT_MS} ms: ${output()}`);
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Runs docker-registry under a small shell watchdog whose stdin is a pipe from us: when the pipe
 * closes (stop() ends it, or this process dies in any way, even SIGKILL or a Jest worker whose
 * `process.on('exit')` never fires), the watchdog stops the registry and removes its temp dir.
 * Prints the registry's PID first; exits with the registry. Arguments: binary, config, temp dir.
 */
const WATCHDOG = `
exec 3<&0
"$0" serve "$1" </dev/null 3<&- &
registry=$!
echo "$registry"
# From here the shell's own messages ("Terminated") must not hit a pipe whose reader may be dead.
exec >/dev/null 2>&1
# sh gives background jobs /dev/null as stdin unless redirected explicitly: hence fd 3.
( while read -r _; do :; done; : > "$2/.stopping"; kill -TERM "$registry" 2>/dev/null ) <&3 &
watcher=$!
wait "$registry"
status=$?
if [ -e "$2/.stopping" ]; then rm -rf "$2"; else kill "$watcher" 2>/dev/null; fi
exit $status
`;

interface RunningProcess {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Starts docker-registry on a free port; retries if another process grabbed the port meanwhile. */
async function launch(binary: string, dir: string, auth: object | undefined): Promise<RunningProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configPath = join(dir, 'config.yml');
    writeFileSync(configPath, registryConfig(port, join(dir, 'storage'), auth));
    // A clean environment: REGISTRY_* variables of the parent would override our config.
    const child = spawn('/bin/sh', ['-c', WATCHDOG, binary, configPath, dir], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group: a Ctrl-C in the terminal must not kill the watchdog before stop() runs
      // (it is still our child, and still stops when our end of its stdin closes).
      detached: true,
    });
    let tail = '';
    let registryPid: number | undefined;
    const pidKnown = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        tail = (tail + chunk.toString('utf8')).slice(-2000);
        const firstLine = /^(\d+)\n/.exec(tail);
        if (registryPid === undefined && firstLine) registryPid = Number(firstLine[1]);
        if (registryPid !== undefined) resolve();
      });
      child.once('exit', () => resolve());
    });
    child.stderr.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-2000);
    });
    const running = (): boolean => child.exitCode === null && child.signalCode === null;
    const kill = (): void => {
      if (!running()) return;
      try {
        if (registryPid !== undefined) process.kill(registryPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      child.kill('SIGKILL');
    };
    const unregister = registerCleanup(kill);
    const stop = async (): Promise<void> => {
      child.stdin.end();
      if (!(await waitForExit(child, 5000))) {
        kill();
        await waitForExit(child, 5000);
      }
      unregister();
    };
    try {
      await pidKnown;
      await waitUntilServing(`http://127.0.0.1:${port}`, child, () => tail.trim());
      return { pid: registryPid!, port, stop };
    } catch (err) {
      lastError = err;
      await stop();
      if (!/address already in use/i.test(tail)) break;
    }
  }
  throw lastError;
}

function externalRegistry(hostPort: string): SandboxRegistry {
  const host = hostPort.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  return { mode: 'open', host, url: `http://${host}`, tokenRequests: () => 0, stop: async () => {} };
}

/**
 * Starts a registry. `credentials` lets several registries share one user (the sandbox hands out a
 * single username/password); by default a random password is made for the `sandbox` user.
 */
export async function startRegistry(
  mode: RegistryMode,
  credentials?: { username: string; password: string },
): Promise<SandboxRegistry> {
  const external = process.env.SANDBOX_REGISTRY?.trim();
  if (mode === 'open' && external) return externalRegistry(external);

  const binary = findExecutable('docker-registry');
  if (!binary) throw new Error(`docker-registry (CNCF distribution) is not installed. ${REGISTRY_INSTALL_HINT}`);

  const dir = mkdtempSync(join(tmpdir(), `sign-sandbox-registry-${mode}-`));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  const unregisterDir = registerCleanup(removeDir);
  let tokenServer: TokenServer | undefined;
  let username: string | undefined;
  let password: string | undefined;
  let readOnly: SandboxRegistry['readOnly'];
  try {
    let auth: object | undefined;
    if (mode !== 'open') {
      username = credentials?.username ?? SANDBOX_USERNAME;
      password = credentials?.password ?? randomBytes(18).toString('base64url');
    }
    if (mode === 'htpasswd') {
      const htpasswdPath = join(dir, 'htpasswd');
      writeFileSync(htpasswdPath, htpasswdLine(username!, password!), { mode: 0o600 });
      auth = { htpasswd: { realm: 'sign-action sandbox', path: htpasswdPath } };
    } else if (mode === 'token') {
      readOnly = { username: 'reader', password: randomBytes(18).toString('base64url') };
      tokenServer = await startTokenServer({ username: username!, password: password!, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, readOnly });
      const bundlePath = join(dir, 'token-root.pem');
      writeFileSync(bundlePath, tokenServer.rootCertificatePem);
      auth = { token: { realm: tokenServer.realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: bundlePath } };
    }
    const running = await launch(binary, dir, auth);
    let stopped: Promise<void> | undefined;
    const host = `127.0.0.1:${running.port}`;
    return {
      mode,
      host,
      url: `http://${host}`,
      username,
      password,
      ...(readOnly ? { readOnly } : {}),
      pid: running.pid,
      tokenRequests: () => tokenServer?.tokenRequests() ?? 0,
      stop: () =>
        (stopped ??= (async () => {
          await running.stop();
          await tokenServer?.stop();
          removeDir();
          unregisterDir();
        })()),
    };
  } catch (err) {
    await tokenServer?.stop();
    removeDir();
    unregisterDir();
    throw err;
  }
}
