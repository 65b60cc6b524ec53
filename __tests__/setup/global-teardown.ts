/**
 * Nothing to tear down globally: each test file stops the sandbox parts it started, and the sandbox
 * kills its processes and removes its temp dirs when a test process exits anyway. (Sweeping for
 * leftovers here would also hit sandboxes of other test runs on the same machine.)
 */
export default async function globalTeardown(): Promise<void> {}
