/**
 * `npm run demo`: the whole job on one machine. Starts the sandbox (a real
 * registry, Sigstore, a GitHub-style OIDC issuer), pushes a small image, runs
 * `node dist/index.js` exactly as the GitHub runner would, prints the step's
 * log, outputs and job summary as the Actions log shows them (secrets masked),
 * and stops everything.
 */
import { startSandbox } from '../sandbox/index.js';
import { pushImage } from '../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor } from '../sandbox/runner.js';
import { printRun } from './demo-print.js';

const rule = (title: string): void => console.log(`\n──── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`);

async function main(): Promise<number> {
  rule('starting the sandbox');
  const sandbox = await startSandbox({ registries: ['token'] });
  try {
    const registry = sandbox.registries.token!;
    for (const [k, v] of Object.entries(sandbox.env())) if (!/PASSWORD|TOKEN$/.test(k)) console.log(`${k}=${v}`);

    rule('pushing an image (what docker/build-push-action does)');
    const image = await pushImage(registry, 'kupecloud/demo-app', { tag: 'v1.0.0' });
    const repo = `${registry.host}/kupecloud/demo-app`;
    console.log(`pushed ${repo}:v1.0.0 → ${image.digest}`);

    const inputs = {
      images: repo,
      digest: image.digest,
      annotations: 'org.opencontainers.image.source=https://github.com/kupecloud/demo-app',
      // Build provenance beside the signature, as a team would add it (one certificate for both).
      attest: 'provenance',
      'registry-username': registry.username!,
      'registry-password': registry.password!,
      ...sigstoreInputsFor(sandbox),
    };
    rule('running node dist/index.js as the runner would');
    console.log('with:');
    for (const [k, v] of Object.entries(inputs)) console.log(`  ${k}: ${k.includes('password') ? '***' : v}`);
    const run = await runAction({ inputs, env: runnerEnvFor(sandbox) });
    // As the Actions log shows it: the raw output holds the tokens and password in ::add-mask:: commands.
    printRun(run, (text) => process.stdout.write(text));
    return run.code;
  } finally {
    rule('stopping the sandbox');
    await sandbox.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
