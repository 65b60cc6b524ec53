/**
 * Commands that check the attestations of a run, for the job summary:
 * `cosign verify-attestation --type <uri>` (cosign 3 reads bundles first and
 * the `.att` only when there are none; cosign 2 reads the `.att`) and, for
 * bundles, `gh attestation verify --bundle-from-oci` (which reads no `.att`).
 * Flags checked against cosign 2.6.5 / 3.1.3 and gh 2.100.0 on the sandbox.
 */
import type { AttestationRecord } from '../attest/types.js';
import type { Config } from '../config-types.js';
import { shellQuote, shellWord } from './commands.js';

export interface AttestationCommands {
  cosign3: string[];
  cosign2: string[];
  gh: string[];
  notes: string[];
}

export function attestationCommandsFor(config: Config, records: AttestationRecord[], identity: string, issuer: string): AttestationCommands {
  const pairs = [...new Map(records.map((r) => [`${r.image} ${r.predicateType}`, r])).values()];
  const custom = config.sigstore.kind === 'custom' ? config.sigstore : undefined;
  const root = custom?.trustedRootPath ? ['--trusted-root', shellWord(custom.trustedRootPath)] : [];
  const who = ['--certificate-identity', shellQuote(identity), '--certificate-oidc-issuer', shellQuote(issuer)];
  const cosign = (r: AttestationRecord, extra: string[]) => ['cosign', 'verify-attestation', '--type', shellWord(r.predicateType), ...who, ...extra, shellWord(r.image)].join(' ');
  const bundle = config.signatureFormat !== 'legacy';
  // gh checks the certificate's source-repository owner: the repository the workflow ran in.
  const owner = config.runner.repository?.split('/')[0] ?? /^https:\/\/[^/]+\/([^/]+)\//.exec(identity)?.[1] ?? '<owner>';
  const notes = ['Always name the `--type`: without it cosign looks only for its own `custom` predicate.'];
  if (custom && !bundle) {
    notes.push('cosign 2 reads a custom instance\'s keys for `.att` attestations from SIGSTORE_ROOT_FILE, SIGSTORE_REKOR_PUBLIC_KEY and SIGSTORE_CT_LOG_PUBLIC_KEY_FILE (PEM files): its `--trusted-root` works there only with `--new-bundle-format`.');
  }
  if (custom && bundle) notes.push('gh takes a custom instance\'s trusted root with `--custom-trusted-root`, as one JSON line (jq -c . trusted_root.json).');
  return {
    cosign3: pairs.map((r) => cosign(r, root)),
    // cosign 2.6 switches to the bundles by itself once any exists (`both`): name that, and its trusted root.
    cosign2: pairs.map((r) => cosign(r, bundle ? ['--new-bundle-format', ...root] : [])),
    gh: bundle
      ? pairs.map((r) =>
          ['gh', 'attestation', 'verify', shellWord(`oci://${r.image}`), '--bundle-from-oci', '--owner', shellWord(owner), '--cert-identity', shellQuote(identity), '--predicate-type', shellWord(r.predicateType)].join(' '),
        )
      : [],
    notes,
  };
}
