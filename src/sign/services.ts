/**
 * Which Fulcio, Rekor and timestamp authority this run signs with.
 *
 * - custom: the inputs; the Rekor API version is asked of `rekor-url` itself.
 * - public-good: Sigstore's signing config from its TUF repository (public-services.ts),
 *   `rekor-v2: true` choosing the Rekor v2 one. Its timestamp authority dates
 *   bundle signatures (as cosign 3 does with the same config); legacy `.sig`
 *   signatures are written as cosign 2 writes them, without one, since their
 *   readers (cosign 2, Kyverno `type: Cosign`, policy-controller) expect none.
 */
import * as core from '@actions/core';
import type { Config } from '../config-types.js';
import { rekorApiVersion } from '../transparency/rekor-v2.js';
import { defaultPublicServicesDeps, publicGoodServices, type PublicServicesDeps } from '../verify/public-services.js';
import type { SigningServices } from '../verify/signing-config.js';

export interface RunServices extends SigningServices {
  /** Whether legacy signatures get the timestamp too (only when the user set `tsa-url`). */
  tsaForLegacy: boolean;
}

export async function signingServices(config: Config, deps: () => PublicServicesDeps = defaultPublicServicesDeps): Promise<RunServices> {
  const s = config.sigstore;
  if (s.kind === 'custom') {
    const rekorMajor = await rekorApiVersion(s.rekorUrl);
    return { fulcioUrl: s.fulcioUrl, rekorUrl: s.rekorUrl, rekorMajor, tsaUrl: s.tsaUrl, notes: [], tsaForLegacy: true };
  }
  const services = await publicGoodServices(Boolean(s.rekorV2), deps());
  for (const note of services.notes) core.warning(note);
  const tsa = services.tsaUrl ? `, timestamps ${services.tsaUrl}` : '';
  core.info(`Sigstore public-good services: Fulcio ${services.fulcioUrl}, Rekor v${services.rekorMajor} ${services.rekorUrl}${tsa}`);
  return { ...services, tsaForLegacy: false };
}
