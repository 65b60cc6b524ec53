/**
 * `const sandbox = useSandbox({ registries: ['open'] })` at the top of a test file: starts the sandbox
 * in beforeAll, stops it (and removes the runner's temp dirs) in afterAll. Call `sandbox()` inside tests.
 */
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index.js';
import { cleanupRuns } from '../../sandbox/runner.js';

export function useSandbox(opts?: SandboxOptions, startTimeoutMs = 60_000): () => Sandbox {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(opts);
  }, startTimeoutMs);
  afterAll(async () => {
    cleanupRuns();
    await sandbox?.stop();
  });
  return () => {
    if (!sandbox) throw new Error('the sandbox is not running: call sandbox() inside a test, not at the top level');
    return sandbox;
  };
}
