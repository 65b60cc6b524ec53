/**
 * Fails the whole run at once, with the fix, when a prerequisite of the sandbox is missing, rather
 * than letting every test file time out on its own. No sandbox is started here: each test file
 * starts what it needs in beforeAll and stops it in afterAll.
 *
 * Self-contained on purpose: Jest loads this file outside its module mapper, so relative `.js`
 * imports of TypeScript sources do not resolve here. Keep the hints in step with sandbox/registry.ts.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin'].filter((dir) => dir !== '');
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export default async function globalSetup(): Promise<void> {
  const problems: string[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    problems.push(
      `Tests need Node 24 (the action's runtime) but this is Node ${process.versions.node}: ` +
        'run them through npm (`npm test`), or `export PATH=$PWD/node_modules/.bin:$PATH` first.',
    );
  }
  if (!onPath('docker-registry') && !process.env.SANDBOX_REGISTRY) {
    problems.push(
      'docker-registry (CNCF distribution) is not installed. Install it with `apt-get install docker-registry`, ' +
        'or set SANDBOX_REGISTRY=<host:port> to use a registry you run (then open mode only, no process started).',
    );
  }
  if (!onPath('htpasswd')) {
    problems.push('htpasswd is not installed (the sandbox needs it for bcrypt passwords): `apt-get install apache2-utils`.');
  }
  if (problems.length > 0) {
    throw new Error(`The test sandbox cannot run:\n- ${problems.join('\n- ')}`);
  }
}
