/**
 * Real cosign 2 and 3 judge what the action writes: the action (dist/index.js) signs on the
 * sandbox, then `cosign verify --trusted-root <sandbox root>` must accept every format for
 * the identity the action's outputs name, and reject forgeries and strangers.
 */
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getBlob, getManifest, pushImage, pushIndex, putManifest, type RegistryAccess } from '../../sandbox/oci.js';
import { runAction, runnerEnvFor, sigstoreInputsFor, type RunResult } from '../../sandbox/runner.js';
import type { GitHubClaims } from '../../sandbox/oidc.js';
import { cosignVerify, ISSUER, toolEnv, verifiedCount } from '../helpers/cosign.js';
import { describeWithTools, expectExit, runTool, type Tool, INTEROP_TIMEOUT } from '../helpers/verifiers.js';

const NOT_MATCHED = /none of the expected identities matched|no matching CertificateIdentity|no matching signatures/i;
const NONE_FOUND = /no signatures found|no matching signatures/i;

describeWithTools('cosign 2 and 3 verify what the action signs', ['cosign-v2', 'cosign-v3'], (tools) => {
  let sandbox: Sandbox;
  let reg: RegistryAccess & { host: string };
  const cosigns = (): Tool[] => [tools['cosign-v2'], tools['cosign-v3']];

  beforeAll(async () => {
    sandbox = await startSandbox({ registries: ['open'] });
    reg = sandbox.registries.open!;
  }, 60_000);
  afterAll(() => sandbox?.stop());

  async function sign(image: string, inputs: Record<string, string>, claims?: Partial<GitHubClaims>): Promise<RunResult> {
    const run = await runAction({ inputs: { ...sigstoreInputsFor(sandbox), images: image, ...inputs }, env: runnerEnvFor(sandbox, claims) });
    if (run.code !== 0) throw new Error(`the action failed to sign ${image}:\n${run.stdout.slice(-3000)}`);
    return run;
  }
  const pushed = async (repo: string) => {
    const img = await pushImage(reg, repo);
    return { ...img, ref: `${reg.host}/${repo}@${img.digest}` };
  };

  // One signed image per format, shared by the cases below.
  const signed: Record<'legacy' | 'bundle' | 'both', { ref: string; run: RunResult }> = {} as never;
  beforeAll(async () => {
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      const img = await pushed(`interop/${format}`);
      signed[format] = { ref: img.ref, run: await sign(img.ref, { 'signature-format': format }) };
    }
  }, 120_000);

  describe.each(['legacy', 'bundle', 'both'] as const)('%s', (format) => {
    it('cosign 2 and cosign 3 accept it for the identity and issuer in the outputs', async () => {
      const { ref, run } = signed[format];
      const identity = run.outputs['certificate-identity'];
      expect(run.outputs['certificate-oidc-issuer']).toBe(ISSUER);
      // cosign 2 reads bundles only when asked; cosign 3 reads them by default.
      const v2 = await cosignVerify(tools['cosign-v2'], sandbox, ref, { identity, newBundleFormat: format === 'bundle' ? true : undefined });
      expectExit(v2, 'pass');
      expect(verifiedCount(v2)).toBe(1);
      const v3 = await cosignVerify(tools['cosign-v3'], sandbox, ref, { identity });
      expectExit(v3, 'pass');
      expect(verifiedCount(v3)).toBe(1);
    }, INTEROP_TIMEOUT);

    it('is rejected for another identity and for another issuer', async () => {
      const { ref, run } = signed[format];
      const identity = run.outputs['certificate-identity'];
      for (const cosign of cosigns()) {
        const bundle = cosign.name === 'cosign-v2' && format === 'bundle' ? true : undefined;
        const stranger = await cosignVerify(cosign, sandbox, ref, { identity: identity.replace('release.yml', 'other.yml'), newBundleFormat: bundle });
        expectExit(stranger, 'fail');
        expect(stranger.stderr).toMatch(NOT_MATCHED);
        const prefix = await cosignVerify(cosign, sandbox, ref, { identity: identity.slice(0, -5), newBundleFormat: bundle });
        expectExit(prefix, 'fail');
        const otherIssuer = await cosignVerify(cosign, sandbox, ref, { identity, issuer: 'https://accounts.google.com', newBundleFormat: bundle });
        expectExit(otherIssuer, 'fail');
      }
    }, INTEROP_TIMEOUT);
  });

  it('both: cosign 3 reading only the .sig tag accepts it too, so both formats carry the same identity', async () => {
    const { ref, run } = signed.both;
    const v3 = await cosignVerify(tools['cosign-v3'], sandbox, ref, { identity: run.outputs['certificate-identity'], newBundleFormat: false });
    expectExit(v3, 'pass');
  }, INTEROP_TIMEOUT);

  it('with tsa-url: the RFC 3161 timestamps verify (--use-signed-timestamps), legacy and bundle', async () => {
    for (const format of ['legacy', 'bundle'] as const) {
      const { ref, run } = signed[format];
      const identity = run.outputs['certificate-identity'];
      const v2 = await cosignVerify(tools['cosign-v2'], sandbox, ref, { identity, newBundleFormat: format === 'bundle' ? true : undefined, extra: ['--use-signed-timestamps'] });
      expectExit(v2, 'pass');
      const v3 = await cosignVerify(tools['cosign-v3'], sandbox, ref, { identity, extra: ['--use-signed-timestamps'] });
      expectExit(v3, 'pass');
    }
  }, INTEROP_TIMEOUT);

  it('without tsa-url: legacy and bundle still verify from the transparency log alone', async () => {
    for (const format of ['legacy', 'bundle'] as const) {
      const img = await pushed(`interop/notsa-${format}`);
      const run = await sign(img.ref, { 'signature-format': format, 'tsa-url': '' });
      const identity = run.outputs['certificate-identity'];
      expectExit(await cosignVerify(tools['cosign-v2'], sandbox, img.ref, { identity, newBundleFormat: format === 'bundle' ? true : undefined }), 'pass');
      expectExit(await cosignVerify(tools['cosign-v3'], sandbox, img.ref, { identity }), 'pass');
    }
  }, INTEROP_TIMEOUT);

  it('recursive: platforms: every platform digest verifies on its own, in both formats', async () => {
    const index = await pushIndex(reg, 'interop/multi', { platforms: ['linux/amd64', 'linux/arm64'], attestations: true });
    const run = await sign(`${reg.host}/interop/multi@${index.digest}`, { recursive: 'platforms', 'signature-format': 'both' });
    const identity = run.outputs['certificate-identity'];
    const digests = [index.digest, ...index.children.filter((c) => !c.attestation).map((c) => c.digest)];
    for (const digest of digests) {
      const ref = `${reg.host}/interop/multi@${digest}`;
      expectExit(await cosignVerify(tools['cosign-v2'], sandbox, ref, { identity }), 'pass');
      expectExit(await cosignVerify(tools['cosign-v3'], sandbox, ref, { identity }), 'pass');
    }
    // BuildKit's attestation manifests are skipped by `platforms`: nothing there to verify.
    const skipped = index.children.find((c) => c.attestation)!;
    expectExit(await cosignVerify(tools['cosign-v3'], sandbox, `${reg.host}/interop/multi@${skipped.digest}`, { identity }), 'fail');
  }, INTEROP_TIMEOUT);

  it('a .sig holding two identities: each verifies alone, a third does not', async () => {
    const img = await pushed('interop/two-signers');
    const first = await sign(img.ref, {});
    const second = await sign(img.ref, {}, { repository: 'kupecloud/other-app' });
    const identities = [first.outputs['certificate-identity'], second.outputs['certificate-identity']];
    expect(identities[0]).not.toBe(identities[1]);
    for (const cosign of cosigns()) {
      for (const identity of identities) {
        const run = await cosignVerify(cosign, sandbox, img.ref, { identity });
        expectExit(run, 'pass');
        expect(verifiedCount(run)).toBe(1);
      }
      const third = await cosignVerify(cosign, sandbox, img.ref, { identity: identities[0].replace('demo-app', 'third-app') });
      expectExit(third, 'fail');
    }
  }, INTEROP_TIMEOUT);

  it('a .sig copied onto another digest is rejected: the payload names the signed digest', async () => {
    const victim = await pushed('interop/copied');
    const run = await sign(victim.ref, {});
    const other = await pushImage(reg, 'interop/copied');
    const sig = await getManifest(reg, 'interop/copied', `${victim.digest.replace(':', '-')}.sig`);
    await putManifest(reg, 'interop/copied', `${other.digest.replace(':', '-')}.sig`, sig!.body, sig!.mediaType);
    for (const cosign of cosigns()) {
      const forged = await cosignVerify(cosign, sandbox, `${reg.host}/interop/copied@${other.digest}`, { identity: run.outputs['certificate-identity'] });
      expectExit(forged, 'fail');
      expect(forged.stderr).toMatch(/digest|claims|no matching signatures/i);
    }
  }, INTEROP_TIMEOUT);

  it('an image with no signature is rejected', async () => {
    const img = await pushed('interop/unsigned');
    for (const cosign of cosigns()) {
      const run = await cosignVerify(cosign, sandbox, img.ref, { identity: signed.legacy.run.outputs['certificate-identity'] });
      expectExit(run, 'fail');
      expect(run.stderr).toMatch(NONE_FOUND);
    }
  }, INTEROP_TIMEOUT);

  it('the verify-commands outputs pass as printed (plus --allow-http-registry for the local registry)', async () => {
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      const { outputs } = signed[format].run;
      const byTool: [Tool, string][] = [
        [tools['cosign-v2'], outputs['verify-commands']],
        [tools['cosign-v3'], outputs['verify-commands-cosign3']],
      ];
      for (const [cosign, commands] of byTool) {
        const lines = commands.split('\n').filter(Boolean);
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) {
          expect(line.startsWith('cosign verify ')).toBe(true);
          // The printed line runs through a shell as a user would paste it; only the binary and one flag differ.
          const run = await runTool('/bin/sh', ['-c', `"$COSIGN" verify --allow-http-registry ${line.slice('cosign verify '.length)}`], {
            env: { ...toolEnv(), COSIGN: cosign.path },
            timeoutMs: 90_000,
          });
          expectExit(run, 'pass');
        }
      }
    }
  }, INTEROP_TIMEOUT);

  it('the bundle files under bundle-path verify with cosign verify-blob (legacy) and verify-blob-attestation (bundle)', async () => {
    for (const format of ['legacy', 'bundle'] as const) {
      const { ref, run } = signed[format];
      const identity = run.outputs['certificate-identity'];
      const [record] = JSON.parse(run.outputs.signatures) as { bundlePath: string; digest: string }[];
      expect(record.bundlePath.startsWith(run.outputs['bundle-path'])).toBe(true);
      const trust = ['--trusted-root', sandbox.sigstore!.trustedRootPath, '--certificate-identity', identity, '--certificate-oidc-issuer', ISSUER];
      for (const cosign of cosigns()) {
        let check;
        if (format === 'legacy') {
          // The legacy bundle signs the simple-signing payload: the .sig layer's blob.
          const repo = ref.slice(ref.indexOf('/') + 1, ref.indexOf('@'));
          const sig = await getManifest(reg, repo, `${record.digest.replace(':', '-')}.sig`);
          const layer = (sig!.json.layers as { digest: string }[])[0];
          const payload = join(run.runnerTemp, 'payload.json');
          writeFileSync(payload, (await getBlob(reg, repo, layer.digest))!);
          check = await runTool(cosign.path, ['verify-blob', '--new-bundle-format', '--bundle', record.bundlePath, ...trust, payload], { env: toolEnv(), timeoutMs: 90_000 });
        } else {
          const args = ['verify-blob-attestation', '--new-bundle-format', '--bundle', record.bundlePath, ...trust];
          args.push('--type', 'https://sigstore.dev/cosign/sign/v1', '--digest', record.digest.slice('sha256:'.length), '--digestAlg', 'sha256');
          check = await runTool(cosign.path, args, { env: toolEnv(), timeoutMs: 90_000 });
        }
        expectExit(check, 'pass');
      }
    }
  }, INTEROP_TIMEOUT);
});
