/**
 * End to end, a custom instance given the way users write it: `tsa-url` as the
 * timestamp authority's base URL, and verify mode with nothing but
 * `sigstore: custom` and `trusted-root` (Fulcio's and Rekor's URLs, used only in
 * the printed commands and policies, come from the trusted root) — on the
 * sandbox, and for real public-good signatures against the public-good root.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { pushImage, type RegistryAccess } from '../../sandbox/oci.js';
import { defaultClaims } from '../../sandbox/oidc.js';
import { cleanupRuns, runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import { readSig, writeSig } from '../helpers/sig-tamper.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = `https://github.com/${defaultClaims().job_workflow_ref}`;
const FIXTURES = new URL('../fixtures/real-world/', import.meta.url);

let sandbox: Sandbox;
let open: RegistryAccess & { host: string };

beforeAll(async () => {
  sandbox = await startSandbox({ registries: ['open'] });
  open = sandbox.registries.open!;
}, 60_000);
afterAll(async () => {
  cleanupRuns();
  await sandbox?.stop();
});

const sign = (inputs: Record<string, string>): Promise<RunResult> =>
  runAction({ inputs: { ...sigstoreInputsFor(sandbox), ...inputs }, env: runnerEnvFor(sandbox) });

/** Verify mode with only `sigstore: custom` and `trusted-root`: fulcio-url, rekor-url and tsa-url keep action.yml's empty defaults. */
const verifyWithRootOnly = (images: string, trustedRoot: string, identity: string, issuer: string): Promise<RunResult> =>
  runAction({
    inputs: { mode: 'verify', images, sigstore: 'custom', 'trusted-root': trustedRoot, 'certificate-identity': identity, 'certificate-oidc-issuer': issuer },
  });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;
const policyDocs = (yamlText: string): Record<string, Doc> =>
  Object.fromEntries(parseAllDocuments(yamlText).map((d) => d.toJS() as Doc).map((d) => [d.kind as string, d]));

describe('tsa-url as a base URL', () => {
  it('signs with a timestamp from the TSA given as https://host (no /api/v1/timestamp)', async () => {
    const base = sandbox.sigstore!.tsaUrl.replace(/\/api\/v1\/timestamp$/, '');
    expect(base).not.toBe(sandbox.sigstore!.tsaUrl);
    const img = await pushImage(open, 'acme/tsa-base');
    const r = await sign({ images: `${open.host}/acme/tsa-base@${img.digest}`, 'tsa-url': base });
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.stdout).not.toMatch(/HTTP 404/);
    expect(r.code).toBe(0);
    expect(r.outputs.verified).toBe('true');
    const [sig] = await readSig(open, 'acme/tsa-base', img.digest);
    expect(Object.keys(JSON.parse(sig.annotations['dev.sigstore.cosign/rfc3161timestamp']))).toEqual(['SignedRFC3161Timestamp']);
  });
});

describe('verify mode with sigstore: custom and trusted-root only', () => {
  it('passes on the sandbox, naming the instance from its trusted root in the commands and policies', async () => {
    const img = await pushImage(open, 'acme/root-only');
    const ref = `${open.host}/acme/root-only@${img.digest}`;
    expect((await sign({ images: ref })).code).toBe(0);

    const r = await verifyWithRootOnly(ref, sandbox.sigstore!.trustedRootPath, IDENTITY, ISSUER);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.stdout).not.toMatch(/is required/);
    expect(r.code).toBe(0);
    expect(r.outputs.verified).toBe('true');
    const rekorUrls = [sandbox.sigstore!.rekorUrl, sandbox.sigstore!.rekorV2Url];
    const rekorFlag = /--rekor-url '?([^' ]+)/.exec(r.outputs['verify-commands']);
    expect(rekorUrls).toContain(rekorFlag?.[1]);
    const cip = policyDocs(r.outputs['policies-enforce']).ClusterImagePolicy;
    expect(cip.spec.authorities[0].keyless.url).toBe(sandbox.sigstore!.fulcioUrl);
  }, 90_000);

  describe('for real public-good signatures, against the public-good root (offline)', () => {
    const legacy = JSON.parse(readFileSync(new URL('ratify-keyless-legacy.json', FIXTURES), 'utf8'));
    const trustedRoot = new URL('public-good-trusted-root.json', FIXTURES).pathname;
    const image = () => `${open.host}/wabbitnetworks/cosign-image@${legacy.image.digest}`;
    beforeAll(() => writeSig(open, 'wabbitnetworks/cosign-image', legacy.image.digest, [{ payload: Buffer.from(legacy.payload), annotations: legacy.layer.annotations }]));

    it("verifies cosign's keyless .sig, with public-good's Fulcio and Rekor in the commands and policies", async () => {
      const r = await verifyWithRootOnly(image(), trustedRoot, legacy.identity, legacy.issuer);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.outputs['verify-results'])[0]).toMatchObject({ verified: true, reason: `verified (legacy, log entry 13452680): signed by ${legacy.identity}` });
      expect(r.outputs['verify-commands']).toMatch(/--rekor-url '?https:\/\/rekor\.sigstore\.dev'? /);
      const docs = policyDocs(r.outputs['policies-enforce']);
      expect(docs.ClusterImagePolicy.spec.authorities[0].keyless.url).toBe('https://fulcio.sigstore.dev');
      expect(docs.ClusterPolicy.spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.rekor.url).toBe('https://rekor.sigstore.dev');
    });

    it('still rejects it for another identity', async () => {
      const r = await verifyWithRootOnly(image(), trustedRoot, 'someone-else@example.com', legacy.issuer);
      expect(r.code).not.toBe(0);
      expect(JSON.parse(r.outputs['verify-results'])[0].reason).toContain(`signed by another identity: ${legacy.identity}`);
    });
  });
});
