/**
 * End to end, hostile or mistaken input: dist/index.js run with one wrong thing
 * each. Every case must fail before anything is written (no `.sig` tag, the
 * Rekor tree the same size), with one `::error::` whose line names the input
 * (or the image and the credential source) and says how to fix it.
 *
 * The cases run a few at a time in beforeAll (each is a separate process);
 * each `it` then judges one result.
 *
 */
import { createServer, type AddressInfo } from 'node:net';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { listTags, pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';

const PARALLEL = 4;

interface Case {
  name: string;
  inputs: (t: Targets) => Record<string, string>;
  /** The input the error must name as input `x`, when the mistake is in one. */
  input?: string;
  /** What the error line must say besides. */
  says: (t: Targets) => RegExp;
  fix: RegExp;
}

interface Targets {
  /** `host/acme/target` on the open registry, and its digest. */
  name: string;
  digest: string;
  token: RegistryAccess & { host: string; readOnly?: { username: string; password: string } };
  tokenImage: string;
  closedPort: number;
}

const hex = (c: string) => c.repeat(64);

const CASES: Case[] = [
  { name: 'digest too short', inputs: (t) => ({ images: t.name, digest: 'sha256:abc123' }), input: 'digest', says: () => /the sha256 digest has 6 hex digits, not 64/, fix: /copy the whole digest/ },
  { name: 'unknown digest algorithm', inputs: (t) => ({ images: `${t.name}@md5:${'a'.repeat(32)}` }), input: 'images', says: () => /digest algorithm "md5" is unknown/, fix: /sha256:<64 hex>/ },
  { name: 'upper-case hex digest', inputs: (t) => ({ images: t.name, digest: `sha256:${hex('A')}` }), input: 'digest', says: () => /upper-case hex/, fix: new RegExp(`write it in lower case: sha256:${hex('a')}`) },
  { name: 'upper-case digest algorithm', inputs: (t) => ({ images: `${t.name}@SHA256:${hex('a')}` }), input: 'images', says: () => /algorithm "SHA256" must be lower-case/, fix: /write sha256:/ },
  { name: '`name:tag@` with nothing after', inputs: (t) => ({ images: `${t.name}:v1@` }), input: 'images', says: () => /nothing follows "@"/, fix: /write the digest after @/ },
  { name: 'upper-case repository', inputs: (t) => ({ images: `${t.name.replace('acme/target', 'Acme/Target')}@${t.digest}` }), input: 'images', says: () => /repository names must be lower-case/, fix: /use .*\/acme\/target@sha256:/ },
  { name: 'name without a registry host', inputs: (t) => ({ images: `acme/target@${t.digest}` }), input: 'images', says: () => /no registry host \(Docker would silently use Docker Hub\)/, fix: /docker\.io\/acme\/target.*ghcr\.io\/acme\/target/ },
  { name: 'metadata that is not JSON', inputs: () => ({ metadata: '{image.name: oops' }), input: 'metadata', says: () => /metadata is not JSON/, fix: /steps\.build\.outputs\.metadata/ },
  { name: 'metadata without containerimage.digest', inputs: (t) => ({ metadata: JSON.stringify({ 'image.name': t.name }) }), input: 'metadata', says: () => /no "containerimage\.digest"/, fix: /steps\.build\.outputs\.metadata/ },
  { name: 'unknown signature-format', inputs: (t) => ({ images: `${t.name}@${t.digest}`, 'signature-format': 'cosign' }), input: 'signature-format', says: () => /"cosign" is not an accepted value/, fix: /one of: legacy, bundle, both/ },
  { name: 'unknown recursive', inputs: (t) => ({ images: `${t.name}@${t.digest}`, recursive: 'yes' }), input: 'recursive', says: () => /"yes" is not an accepted value/, fix: /one of: none, platforms, all/ },
  { name: 'unknown mode', inputs: (t) => ({ images: `${t.name}@${t.digest}`, mode: 'check' }), input: 'mode', says: () => /"check" is not an accepted value/, fix: /one of: sign, verify/ },
  { name: 'verify mode without an identity', inputs: (t) => ({ images: `${t.name}@${t.digest}`, mode: 'verify' }), input: 'certificate-identity', says: () => /verify mode needs the identity/, fix: /set certificate-identity: https:\/\/github\.com\// },
  { name: '`sigstore: custom` without its URLs', inputs: (t) => ({ images: `${t.name}@${t.digest}`, 'fulcio-url': '', 'rekor-url': '' }), input: 'fulcio-url', says: () => /fulcio-url is required to sign with a custom Sigstore instance/, fix: /set fulcio-url/ },
  { name: 'unreadable trusted-root', inputs: (t) => ({ images: `${t.name}@${t.digest}`, 'trusted-root': '/nonexistent/trusted_root.json' }), input: 'trusted-root', says: () => /cannot read \/nonexistent\/trusted_root\.json \(ENOENT\)/, fix: /path of your instance's trusted_root\.json/ },
  { name: 'annotations not key=value', inputs: (t) => ({ images: `${t.name}@${t.digest}`, annotations: 'team=core\njust-a-word' }), input: 'annotations', says: () => /"just-a-word" is not key=value/, fix: /one key=value per line/ },
  { name: 'a boolean input that is not one', inputs: (t) => ({ images: `${t.name}@${t.digest}`, verify: 'yes' }), input: 'verify', says: () => /"yes" is not a boolean/, fix: /true or false/ },
  { name: 'plain http to a remote Fulcio', inputs: (t) => ({ images: `${t.name}@${t.digest}`, 'fulcio-url': 'http://fulcio.example.com' }), input: 'fulcio-url', says: () => /http:\/\/ is not allowed/, fix: /use https:\/\// },
  { name: 'registry-username without the password', inputs: (t) => ({ images: `${t.name}@${t.digest}`, 'registry-username': 'someone' }), input: 'registry-password', says: () => /registry-password is empty/, fix: /set both/ },
  { name: 'image not found', inputs: (t) => ({ images: `${t.name}@sha256:${hex('0')}` }), says: (t) => new RegExp(`${t.name}@sha256:0{64}: digest not found in ${t.name}`), fix: /push the image first/ },
  {
    name: 'push refused to an account that may only pull',
    inputs: (t) => ({ images: t.tokenImage, 'registry-username': t.token.readOnly!.username, 'registry-password': t.token.readOnly!.password }),
    says: (t) => new RegExp(`${t.token.host} refused to let us write to acme/readonly \\(HTTP 40[13].*\\) with the credentials from registry-username/registry-password inputs; the token server granted pull access only`),
    fix: /log in first with a `docker\/login-action` step .* with an account allowed to push to acme\/readonly/,
  },
  { name: 'registry unreachable', inputs: (t) => ({ images: `127.0.0.1:${t.closedPort}/acme/target@${t.digest}` }), says: (t) => new RegExp(`could not reach 127\\.0\\.0\\.1:${t.closedPort} \\(ECONNREFUSED\\)`), fix: /check the name, the network, or the registry's status/ },
];

let sandbox: Sandbox;
let targets: Targets;
let open: RegistryAccess & { host: string };
const results = new Map<string, RunResult>();
let treeSizes: { before: number; after: number };

async function rekorTreeSize(): Promise<number> {
  const res = await fetch(`${sandbox.sigstore!.rekorUrl}/api/v1/log`);
  return ((await res.json()) as { treeSize: number }).treeSize;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open', 'token'] });
  open = sandbox.registries.open!;
  const token = sandbox.registries.token!;
  const [img, readonlyImg] = await Promise.all([pushImage(open, 'acme/target'), pushImage(token, 'acme/readonly')]);
  targets = { name: `${open.host}/acme/target`, digest: img.digest, token, tokenImage: `${token.host}/acme/readonly@${readonlyImg.digest}`, closedPort: await closedPort() };
  const before = await rekorTreeSize();
  const queue = [...CASES];
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const inputs = { ...sigstoreInputsFor(sandbox), ...c.inputs(targets) };
        results.set(c.name, await runAction({ inputs, env: runnerEnvFor(sandbox) }));
      }
    }),
  );
  treeSizes = { before, after: await rekorTreeSize() };
}, 120_000);
afterAll(async () => {
  cleanupRuns();
  await sandbox?.stop();
});

describe('bad input fails before any write, in one line naming the input and the fix', () => {
  it('has at least 15 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(15));

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const run = results.get(c.name)!;
    expect(run.code).not.toBe(0);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).not.toMatch(/unexpected error/);
    // The runner turns %0A back into a new line: the line that explains is the last one.
    const line = errors[0].replace(/^::error[^:]*::/, '').split('%0A').at(-1)!;
    if (c.input) expect(line).toContain(`input \`${c.input}\``);
    expect(line).toMatch(c.says(targets));
    expect(line).toMatch(/\. Fix: /);
    expect(line.slice(line.indexOf('. Fix: '))).toMatch(c.fix);
  });

  it('wrote nothing: no .sig tag, no transparency-log entry', async () => {
    expect(await listTags(open, 'acme/target')).toEqual([]);
    expect(await listTags(targets.token, 'acme/readonly')).toEqual([]);
    expect(treeSizes.after).toBe(treeSizes.before);
  });
});
