/**
 * Sign mode's attestation inputs → what to attest, checked before anything is
 * sent: `attest` (one a line: `provenance`), and a custom predicate —
 * `predicate-type` (a URI) with `predicate` (inline JSON) or `predicate-path`
 * (a file, e.g. an SBOM) — as actions/attest names them. Bad JSON, a missing
 * or unreadable file, an oversize predicate, a type that is not a URI, or an
 * envelope too large for the public Rekor v1 fail here, naming the input.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AttestationSpec, AttestInputs, SigstoreInstance } from './config-types.js';
import { ActionError } from './errors.js';
import { envelopeSizeFor } from './formats/att.js';
import { MAX_PREDICATE_BYTES, PUBLIC_GOOD_REKOR_V1_MAX_ENVELOPE_BYTES, SLSA_PROVENANCE_V1 } from './formats/attestation-constants.js';


const ATTEST_KINDS = ['provenance'] as const;
const MiB = (n: number): string => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;

export function parseAttestInputs(read: (name: string) => string, sigstore: SigstoreInstance): AttestInputs {
  const kinds = read('attest')
    .split(/[\n,]/)
    .map((l) => l.trim().toLowerCase())
    .filter(Boolean);
  for (const kind of kinds) {
    if (!(ATTEST_KINDS as readonly string[]).includes(kind)) {
      throw new ActionError(`"${kind}" is not an attestation this action builds`, {
        input: 'attest',
        fix: `write \`provenance\` (SLSA v1 build provenance); for any other predicate (an SBOM, say) use predicate-type with predicate or predicate-path`,
      });
    }
  }
  const custom = customPredicate(read);
  if (custom && kinds.includes('provenance') && custom.predicateType === SLSA_PROVENANCE_V1) {
    throw new ActionError('both `attest: provenance` and a custom predicate of type https://slsa.dev/provenance/v1 are given', {
      input: 'predicate-type',
      fix: 'keep one: the built-in provenance, or your own predicate of that type',
    });
  }
  if (custom && sigstore.kind === 'public-good') checkPublicRekorSize(custom);
  return { provenance: kinds.includes('provenance'), ...(custom ? { custom } : {}) };
}

function customPredicate(read: (name: string) => string): AttestationSpec | undefined {
  const type = read('predicate-type');
  const inline = read('predicate');
  const file = read('predicate-path');
  if (!type && !inline && !file) return undefined;
  if (!type) {
    throw new ActionError(`${inline ? 'predicate' : 'predicate-path'} is set without predicate-type`, {
      input: 'predicate-type',
      fix: 'set predicate-type to the predicate\'s URI, e.g. https://spdx.dev/Document (SPDX) or https://cyclonedx.org/bom (CycloneDX)',
    });
  }
  checkUri(type);
  if (inline && file) {
    throw new ActionError('both predicate and predicate-path are set', { input: 'predicate-path', fix: 'keep one: inline JSON in predicate, or a file in predicate-path' });
  }
  if (!inline && !file) {
    throw new ActionError('predicate-type is set, but neither predicate nor predicate-path', {
      input: 'predicate-path',
      fix: 'give the predicate as a file (predicate-path: sbom.spdx.json) or as inline JSON (predicate)',
    });
  }
  if (inline) return { predicateType: type, predicate: parseObject(inline, 'predicate', 'the inline predicate', Buffer.byteLength(inline)), source: 'predicate' };
  return { predicateType: type, predicate: readPredicateFile(file), source: `predicate-path (${file})` };
}

/** An absolute URI, as cosign (url.ParseRequestURI) and in-toto require. */
function checkUri(type: string): void {
  let ok = /^[a-z][a-z0-9+.-]*:\S+$/i.test(type);
  try {
    new URL(type);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new ActionError(`"${type}" is not a URI`, {
      input: 'predicate-type',
      fix: 'give the full predicate type URI, e.g. https://spdx.dev/Document, https://cyclonedx.org/bom or https://slsa.dev/provenance/v1 (short names like `spdx` are cosign-only)',
    });
  }
}

function tooLarge(input: string, size: number): ActionError {
  return new ActionError(`the predicate is ${size} bytes, more than the ${MAX_PREDICATE_BYTES} bytes (${MiB(MAX_PREDICATE_BYTES)}) an attestation may hold`, {
    input,
    fix: 'attest a smaller predicate (actions/attest and GitHub\'s attestation store cap predicates at 16 MiB too), e.g. an SBOM without file-level entries',
  });
}

function readPredicateFile(file: string): unknown {
  const absolute = path.resolve(file);
  let size: number;
  let text: string;
  try {
    size = statSync(absolute).size;
    if (size > MAX_PREDICATE_BYTES) throw tooLarge('predicate-path', size);
    text = readFileSync(absolute, 'utf8');
  } catch (e) {
    if (e instanceof ActionError) throw e;
    throw new ActionError(`cannot read ${absolute} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      input: 'predicate-path',
      fix: 'give the path of the predicate file written by an earlier step (relative paths start at the workspace), e.g. the output-file of anchore/sbom-action',
    });
  }
  return parseObject(text, 'predicate-path', absolute, size);
}

function parseObject(text: string, input: string, what: string, size: number): unknown {
  if (size > MAX_PREDICATE_BYTES) throw tooLarge(input, size);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ActionError(`${what} is not JSON (${(e as Error).message})`, { input, fix: 'give the predicate as a JSON object (an SPDX or CycloneDX JSON SBOM, say)' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ActionError(`${what} is JSON but not an object`, { input, fix: 'the predicate must be a JSON object ({…}), as in-toto requires' });
  }
  return value;
}

/**
 * Public-good Rekor v1 needs the whole envelope in the request and refuses
 * large ones at its load balancer (the limit is undocumented): fail now, not
 * after other images were attested.
 */
function checkPublicRekorSize(spec: AttestationSpec): void {
  // The statement adds a few hundred bytes to the predicate; the envelope base64s it.
  const predicateBytes = Buffer.byteLength(JSON.stringify(spec.predicate));
  const envelope = envelopeSizeFor(predicateBytes + 512);
  if (envelope <= PUBLIC_GOOD_REKOR_V1_MAX_ENVELOPE_BYTES) return;
  const input = spec.source.startsWith('predicate-path') ? 'predicate-path' : 'predicate';
  throw new ActionError(
    `the predicate is ${predicateBytes} bytes, so its signed envelope is about ${envelope} bytes; the public Rekor v1 log needs the whole envelope in its request ` +
      `and this action sends it at most ${PUBLIC_GOOD_REKOR_V1_MAX_ENVELOPE_BYTES} bytes (${MiB(PUBLIC_GOOD_REKOR_V1_MAX_ENVELOPE_BYTES)}: larger ones are refused there); nothing was sent`,
    {
      input,
      fix: 'attest a smaller predicate (an SBOM without per-file entries is often 10× smaller), or use `sigstore: custom` with a Rekor v2 log (only a digest is logged, up to 16 MiB predicates) or a Rekor v1 that accepts larger requests',
    },
  );
}
