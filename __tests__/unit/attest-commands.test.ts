/**
 * The attestation commands in the job summary. Each form was run by hand
 * against the sandbox with cosign 2.6.5, cosign 3.1.3 and gh 2.100.0; here
 * the flags each layout needs are pinned.
 */
import type { AttestationRecord } from '../../src/attest/types.js';
import type { Config } from '../../src/config-types.js';
import { attestationCommandsFor } from '../../src/report/attestation-commands.js';

const IMAGE = `ghcr.io/acme/app@sha256:${'a'.repeat(64)}`;
const ID = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const record = (format: 'legacy' | 'bundle', predicateType: string) => ({ image: IMAGE, format, predicateType }) as AttestationRecord;
const config = (signatureFormat: Config['signatureFormat'], custom = false) =>
  ({
    signatureFormat,
    sigstore: custom ? { kind: 'custom', fulcioUrl: 'https://f', rekorUrl: 'https://r', trustedRootPath: '/w/trusted root.json' } : { kind: 'public-good' },
    runner: { repository: 'acme/app' },
  }) as Config;
const SLSA = 'https://slsa.dev/provenance/v1';

describe('attestation verify commands', () => {
  it('legacy on public-good: cosign 2 and 3 by predicate type, no gh (it reads no .att)', () => {
    const c = attestationCommandsFor(config('legacy'), [record('legacy', SLSA)], ID, ISSUER);
    const expected = `cosign verify-attestation --type ${SLSA} --certificate-identity '${ID}' --certificate-oidc-issuer '${ISSUER}' ${IMAGE}`;
    expect(c.cosign3).toEqual([expected]);
    expect(c.cosign2).toEqual([expected]);
    expect(c.gh).toEqual([]);
  });

  it('both: one command per image and predicate; cosign 2 pointed at the bundles; gh with the repository owner and exact identity', () => {
    const c = attestationCommandsFor(config('both'), [record('legacy', SLSA), record('bundle', SLSA), record('bundle', 'https://spdx.dev/Document')], ID, ISSUER);
    expect(c.cosign3).toHaveLength(2);
    expect(c.cosign2[0]).toContain(' --new-bundle-format ');
    expect(c.gh[0]).toBe(`gh attestation verify oci://${IMAGE} --bundle-from-oci --owner acme --cert-identity '${ID}' --predicate-type ${SLSA}`);
  });

  it('a custom instance: its trusted root where the verifier takes one, and how to give it where not', () => {
    const legacy = attestationCommandsFor(config('legacy', true), [record('legacy', SLSA)], ID, ISSUER);
    expect(legacy.cosign3[0]).toContain(` --trusted-root '/w/trusted root.json' ${IMAGE}`);
    expect(legacy.cosign2[0]).not.toContain('--trusted-root');
    expect(legacy.notes.join(' ')).toMatch(/SIGSTORE_ROOT_FILE/);
    const bundle = attestationCommandsFor(config('bundle', true), [record('bundle', SLSA)], ID, ISSUER);
    expect(bundle.cosign2[0]).toContain(" --new-bundle-format --trusted-root '/w/trusted root.json' ");
    expect(bundle.notes.join(' ')).toMatch(/--custom-trusted-root/);
  });
});
