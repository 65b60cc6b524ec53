/**
 * `npm run sandbox`: starts the whole sandbox, prints its KEY=VALUE description on stdout (so
 * `npm run -s sandbox > .sandbox.env` works), and runs until SIGINT/SIGTERM, then stops everything
 * and exits 0 with no process left behind.
 */
import { startSandbox, type Sandbox } from './index.js';

let sandbox: Sandbox | undefined;
let shuttingDown = false;

async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  process.stderr.write(`\n${signal}: stopping the sandbox...\n`);
  // Still starting: the startup code below stops it as soon as it exists.
  if (!sandbox) return;
  try {
    await sandbox?.stop();
    process.exit(0);
  } catch (err) {
    process.stderr.write(`The sandbox did not stop cleanly: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

// Installed before anything starts, so a signal during startup still cleans up what exists.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void shutdown(signal));
}

try {
  sandbox = await startSandbox();
} catch (err) {
  process.stderr.write(`The sandbox could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

if (shuttingDown) {
  // A signal came while starting: shutdown() saw no sandbox yet, so stop it now.
  await sandbox.stop();
  process.exit(0);
}

const lines = Object.entries(sandbox.env()).map(([key, value]) => `${key}=${value}`);
process.stdout.write(lines.join('\n') + '\n');
process.stderr.write(
  [
    '',
    'Sandbox is up (everything on 127.0.0.1). The lines above describe it: save them with',
    '`npm run -s sandbox > .sandbox.env`, then `set -a; . ./.sandbox.env; set +a` in another shell.',
    'Registries use plain HTTP; the htpasswd and token ones take SANDBOX_REGISTRY_USERNAME/PASSWORD.',
    'Press Ctrl-C to stop it.',
    '',
  ].join('\n'),
);
