import { existsSync, readFileSync } from 'node:fs';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { ActionError } from '../../src/errors.js';
import {
  COSIGN_SIGN_PREDICATE,
  exactRegexp,
  policyName,
  policySnippets,
  type PolicyInput,
  type PolicySnippet,
} from '../../src/report/policies.js';
import { pemFromTrustedRoot } from '../../src/report/trusted-root-pem.js';
import { toYaml } from '../../src/report/yaml.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3';
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const FORMATS = ['legacy', 'bundle', 'both'] as const;
const STAGES = ['audit', 'enforce'] as const;

const SLSA1 = 'https://slsa.dev/provenance/v1';
const base: PolicyInput = { identity: IDENTITY, issuer: ISSUER, imagePattern: 'ghcr.io/acme/app*', format: 'legacy', stage: 'audit' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;
const all = (input: PolicyInput): PolicySnippet[] => Object.values(policySnippets(input));
const parsed = (s: PolicySnippet): Doc => parse(s.yaml);

describe('every snippet, every format and stage', () => {
  const cases = FORMATS.flatMap((format) => STAGES.map((stage) => ({ format, stage })));

  it.each(cases)('$format/$stage: the YAML parses back to the object, with a DNS-1123 name', ({ format, stage }) => {
    for (const s of all({ ...base, format, stage })) {
      expect(parsed(s)).toEqual(JSON.parse(JSON.stringify(s.object)));
      expect(parsed(s).metadata.name).toMatch(DNS_1123_LABEL);
      expect(parsed(s).metadata.name.length).toBeLessThanOrEqual(63);
      expect(s.yaml.startsWith('# ')).toBe(true);
    }
  });

  it.each(cases)('$format/$stage: Kyverno ClusterPolicy fields', ({ format, stage }) => {
    const d = parsed(policySnippets({ ...base, format, stage }).kyvernoClusterPolicy);
    expect([d.apiVersion, d.kind]).toEqual(['kyverno.io/v1', 'ClusterPolicy']);
    expect(d.spec.validationFailureAction).toBeUndefined(); // deprecated: the action lives on the rule
    const vi = d.spec.rules[0].verifyImages[0];
    expect(vi.imageReferences).toEqual(['ghcr.io/acme/app*']);
    expect(vi.type).toBe(format === 'bundle' ? 'SigstoreBundle' : 'Cosign');
    expect(vi.failureAction).toBe(stage === 'audit' ? 'Audit' : 'Enforce');
    expect(vi.mutateDigest).toBe(stage === 'enforce'); // Kyverno rejects mutateDigest with Audit
    expect([vi.verifyDigest, vi.required]).toEqual([true, true]);
    const keyless = vi.attestors[0].entries[0].keyless;
    expect([keyless.subject, keyless.issuer]).toEqual([IDENTITY, ISSUER]);
    expect(keyless.rekor.url).toBe('https://rekor.sigstore.dev');
  });

  it.each(cases)('$format/$stage: Kyverno ImageValidatingPolicy fields', ({ format, stage }) => {
    const d = parsed(policySnippets({ ...base, format, stage }).kyvernoImageValidatingPolicy);
    expect([d.apiVersion, d.kind]).toEqual(['policies.kyverno.io/v1', 'ImageValidatingPolicy']);
    expect(d.spec.validationActions).toEqual(stage === 'audit' ? ['Audit'] : ['Deny']);
    expect(d.spec.matchImageReferences).toEqual([{ glob: 'ghcr.io/acme/app*' }]);
    const attestor = d.spec.attestors[0];
    expect(attestor.cosign.keyless.identities).toEqual([{ subject: IDENTITY, issuer: ISSUER }]);
    // The expression names the attestor that exists, for every pod image list.
    const expression: string = d.spec.validations[0].expression;
    expect(expression).toContain(`verifyImageSignatures(image, [attestors.${attestor.name}])`);
    for (const list of ['containers', 'initContainers', 'ephemeralContainers']) expect(expression).toContain(`images.${list}`);
    expect(expression).toMatch(/\.all\(e, e > 0\)$/);
  });

  it.each(cases)('$format/$stage: policy-controller ClusterImagePolicy fields', ({ format, stage }) => {
    const d = parsed(policySnippets({ ...base, format, stage }).policyControllerClusterImagePolicy);
    expect([d.apiVersion, d.kind]).toEqual(['policy.sigstore.dev/v1beta1', 'ClusterImagePolicy']);
    expect(d.spec.mode).toBe(stage === 'audit' ? 'warn' : 'enforce');
    expect(d.spec.images).toEqual([{ glob: 'ghcr.io/acme/app*' }]);
    const authority = d.spec.authorities[0];
    expect(authority.keyless.identities).toEqual([{ issuer: ISSUER, subject: IDENTITY }]);
    expect(authority.keyless.url).toBe('https://fulcio.sigstore.dev');
    expect(authority.ctlog.url).toBe('https://rekor.sigstore.dev');
    if (format === 'bundle') {
      expect(authority.signatureFormat).toBe('bundle');
      expect(authority.attestations).toEqual([{ name: 'cosign-signature', predicateType: COSIGN_SIGN_PREDICATE }]);
    } else {
      expect(authority.signatureFormat).toBeUndefined();
      expect(authority.attestations).toBeUndefined();
    }
  });
});

describe('identities and patterns that need care', () => {
  it.each([
    ["an identity with quotes", `https://github.com/o/r/.github/workflows/it's "x".yml@refs/heads/main`],
    ['YAML syntax inside', 'https://github.com/o/r/.github/workflows/a: b #c, [d] {e} &f *g !h |i >j %k @l `m.yml@refs/heads/x'],
    ['a value YAML 1.1 reads as a boolean', 'yes'],
    ['a number-like value', '0x1F'],
    ['non-ASCII', 'https://github.com/ö/r/.github/workflows/ç.yml@refs/heads/ü✓'],
  ])('%s survives the YAML exactly, in every kind', (_label, identity) => {
    for (const s of all({ ...base, identity, stage: 'enforce' })) {
      // Kyverno's ClusterPolicy carries a wildcard-bearing identity as an escaped regexp.
      const written = /[*?]/.test(identity) && s.kind === 'ClusterPolicy' ? exactRegexp(identity) : identity;
      expect(JSON.stringify(parsed(s))).toContain(JSON.stringify(written));
      expect(parse(s.yaml, { version: '1.1' })).toEqual(parsed(s));
    }
  });

  it("uses an escaped, anchored subjectRegExp when Kyverno's wildcard matching would widen the identity", () => {
    const identity = 'https://github.com/acme/app/.github/workflows/rel*.yml@refs/heads/ma?n';
    const keyless = parsed(policySnippets({ ...base, identity }).kyvernoClusterPolicy).spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless;
    expect(keyless.subject).toBeUndefined();
    const re = new RegExp(keyless.subjectRegExp);
    expect(re.test(identity)).toBe(true);
    expect(re.test(identity.replace('rel*', 'release'))).toBe(false);
    expect(re.test(`${identity}-evil`)).toBe(false);
    // The other kinds compare exactly: the identity stays as it is.
    const ivp = parsed(policySnippets({ ...base, identity }).kyvernoImageValidatingPolicy);
    expect(ivp.spec.attestors[0].cosign.keyless.identities[0].subject).toBe(identity);
  });

  it('exactRegexp escapes every RE2 metacharacter', () => {
    const text = 'a.b+c*d?e(f)g|h[i]j{k}l^m$n\\o';
    expect(new RegExp(exactRegexp(text)).test(text)).toBe(true);
    expect(new RegExp(exactRegexp(text)).test(text.replace('.', 'X'))).toBe(false);
  });

  it.each([
    ['ghcr.io/acme/app*', 'verify-acme-app-signature'],
    ['ghcr.io/acme/app:*', 'verify-acme-app-signature'],
    ['localhost:5000/team/Tool_X@sha256:*', 'verify-team-tool-x-signature'],
    ['ghcr.io/*', 'verify-image-signature'],
    [`ghcr.io/${'very-long-name/'.repeat(8)}app*`, undefined],
  ])('policyName(%s)', (pattern, expected) => {
    const name = policyName(pattern);
    if (expected) expect(name).toBe(expected);
    expect(name).toMatch(DNS_1123_LABEL);
    expect(name.length).toBeLessThanOrEqual(63);
  });

  it('spells Docker Hub the way policy-controller needs it', () => {
    const d = parsed(policySnippets({ ...base, imagePattern: 'docker.io/acme/app*' }).policyControllerClusterImagePolicy);
    expect(d.spec.images).toEqual([{ glob: 'index.docker.io/acme/app*' }]);
  });

  it('refuses a pattern no verifier can take', () => {
    expect(() => policySnippets({ ...base, imagePattern: 'ghcr.io/acme/app [x]' })).toThrow(ActionError);
    expect(() => policySnippets({ ...base, imagePattern: '' })).toThrow(ActionError);
  });
});

describe('custom Sigstore instance', () => {
  const rekorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const oldRekorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const ctKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const der = (k: typeof rekorKey) => k.export({ type: 'spki', format: 'der' }).toString('base64');
  const certBytes = randomBytes(300);
  const trustedRoot = JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      { baseUrl: 'https://rekor.internal.example', publicKey: { rawBytes: der(oldRekorKey), validFor: { start: '2024-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z' } } },
      { baseUrl: 'https://rekor.internal.example/', publicKey: { rawBytes: der(rekorKey), validFor: { start: '2025-01-01T00:00:00Z' } } },
      { baseUrl: 'https://other.example', publicKey: { rawBytes: der(ctKey), validFor: { start: '2026-01-01T00:00:00Z' } } },
    ],
    ctlogs: [{ baseUrl: 'https://ctfe.internal.example', publicKey: { rawBytes: der(ctKey), validFor: { start: '2025-01-01T00:00:00Z' } } }],
    certificateAuthorities: [{ uri: 'https://fulcio.internal.example', certChain: { certificates: [{ rawBytes: certBytes.toString('base64') }] } }],
  });
  const custom = { fulcioUrl: 'https://fulcio.internal.example', rekorUrl: 'https://rekor.internal.example', trustedRootJson: trustedRoot };
  const samePublicKey = (pem: string, key: typeof rekorKey) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).equals(key.export({ type: 'spki', format: 'der' }));

  it("picks the current key of the instance's own Rekor, and the CT key, as PEM", () => {
    const pem = pemFromTrustedRoot(trustedRoot, custom.rekorUrl);
    expect(samePublicKey(pem.rekorPublicKey!, rekorKey)).toBe(true);
    expect(samePublicKey(pem.ctlogPublicKey!, ctKey)).toBe(true);
    const body = pem.fulcioCertificates!.replace(/-----(BEGIN|END) CERTIFICATE-----|\n/g, '');
    expect(Buffer.from(body, 'base64').equals(certBytes)).toBe(true);
    expect(pem.fulcioCertificates!.split('\n').every((line) => line.length <= 64)).toBe(true);
  });

  it('puts the instance URLs and keys into each kind', () => {
    const s = policySnippets({ ...base, custom });
    const keyless = parsed(s.kyvernoClusterPolicy).spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless;
    expect(keyless.rekor.url).toBe(custom.rekorUrl);
    expect(samePublicKey(keyless.rekor.pubkey, rekorKey)).toBe(true);
    expect(samePublicKey(keyless.ctlog.pubkey, ctKey)).toBe(true);
    const cosign = parsed(s.kyvernoImageValidatingPolicy).spec.attestors[0].cosign;
    expect(cosign.ctlog.url).toBe(custom.rekorUrl);
    expect(cosign.trustedRoot.value).toBe(trustedRoot);
    const authority = parsed(s.policyControllerClusterImagePolicy).spec.authorities[0];
    expect(authority.keyless.url).toBe(custom.fulcioUrl);
    expect(authority.keyless.trustRootRef).toBe(authority.ctlog.trustRootRef);
    expect(s.policyControllerClusterImagePolicy.notes.join(' ')).toContain(authority.keyless.trustRootRef);
  });

  it('says which input is wrong when the trusted root is not JSON', () => {
    expect(() => pemFromTrustedRoot('{nope')).toThrow(/trusted-root/);
  });
});

describe('YAML emitter', () => {
  const alphabet = ['a', 'Z', '0', '9', ' ', ':', '#', '-', '?', '*', '&', '!', '|', '>', "'", '"', '%', '@', '`', ',', '[', ']', '{', '}', '\n', '\t', '\\', 'é', '✓', '\u0085', '\u2028', '\r', '.', '~', '='];
  const randomText = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');

  it('round-trips 2,000 random strings as keys and values under YAML 1.2 and 1.1', () => {
    for (let i = 0; i < 2000; i++) {
      const value = randomText(1 + (i % 12));
      const doc = { [randomText(1 + (i % 5))]: value, list: [value, { k: value }], nested: { v: value } };
      const text = toYaml(doc);
      expect({ i, back: parse(text) }).toEqual({ i, back: doc });
      expect({ i, back: parse(text, { version: '1.1' }) }).toEqual({ i, back: doc });
    }
  });

  it.each(['true', 'No', 'null', '~', '1e3', '0o17', '2001-12-14', '.inf', '- x', 'a: b', 'x #y', '', ' lead', 'trail '])('quotes %j so it stays a string', (value) => {
    expect(parse(toYaml({ v: value }), { version: '1.1' })).toEqual({ v: value });
  });

  it('writes PEM text as a literal block that reads back byte for byte', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\nABCD\n-----END CERTIFICATE-----\n';
    const text = toYaml({ roots: pem, list: [pem, 'two\nlines', 'kept\n\n\n'] });
    expect(text).toContain('roots: |\n');
    expect(parse(text)).toEqual({ roots: pem, list: [pem, 'two\nlines', 'kept\n\n\n'] });
  });
});

/**
 * Each generated object against the upstream CRD's OpenAPI schema (see
 * ../shared/schemas/README.md), made strict: `additionalProperties: false` on every
 * object node with `properties` that does not preserve unknown fields, so a
 * misspelled field fails here instead of being pruned silently by the API server.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const schemaDir = path.resolve(repoRoot, '../shared/schemas');
const hasSchemas = existsSync(schemaDir);
if (!hasSchemas) console.warn(`policies.test.ts: ${schemaDir} is absent, so the CRD schema checks are skipped`);

type Schema = { [key: string]: unknown };

function strict(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(strict);
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Schema;
  if (schema.properties && schema['x-kubernetes-preserve-unknown-fields'] !== true && schema.additionalProperties === undefined) {
    schema.additionalProperties = false;
  }
  for (const value of Object.values(schema)) strict(value);
}

function loadValidator(file: string, addTypeMeta = false): ValidateFunction {
  const schema = JSON.parse(readFileSync(path.join(schemaDir, file), 'utf8')) as Schema;
  if (addTypeMeta) {
    // This CRD schema leaves out the fields every Kubernetes object has.
    const props = schema.properties as Schema;
    Object.assign(props, { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } });
  }
  strict(schema);
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const format of ['int32', 'int64', 'date-time']) ajv.addFormat(format, true);
  return ajv.compile(schema);
}

const schemaFiles = {
  kyvernoClusterPolicy: ['ClusterPolicy.kyverno.io.v1.schema.json', false],
  kyvernoImageValidatingPolicy: ['ImageValidatingPolicy.policies.kyverno.io.v1.schema.json', false],
  policyControllerClusterImagePolicy: ['ClusterImagePolicy.policy.sigstore.dev.v1beta1.schema.json', true],
  policyControllerAttestationPolicy: ['ClusterImagePolicy.policy.sigstore.dev.v1beta1.schema.json', true],
} as const;

describe('CRD schemas', () => {
  const itWithSchemas = hasSchemas ? it : it.skip;
  const validators: Record<string, ValidateFunction> = hasSchemas
    ? Object.fromEntries(Object.entries(schemaFiles).map(([k, [file, meta]]) => [k, loadValidator(file, meta)]))
    : {};
  const variants: PolicyInput[] = [
    ...FORMATS.flatMap((format) => STAGES.map((stage) => ({ ...base, format, stage }))),
    {
      ...base,
      format: 'bundle',
      identity: 'https://github.com/o/r/.github/workflows/x*.yml@refs/heads/main',
      custom: { fulcioUrl: 'https://f.example', rekorUrl: 'https://r.example', trustedRootJson: '{"tlogs":[{"baseUrl":"https://r.example","publicKey":{"rawBytes":"AAEC"}}],"ctlogs":[],"certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AwQF"}]}}]}' },
    },
    // With attestations required (sign mode `attest: provenance`, verify mode `predicate-type`).
    ...FORMATS.flatMap((format) => STAGES.map((stage) => ({ ...base, format, stage, attestations: [SLSA1] }))),
    { ...base, format: 'bundle', attestations: [SLSA1, 'https://spdx.dev/Document', 'https://example.com/custom/v1'], custom: { fulcioUrl: 'https://f.example', rekorUrl: 'https://r.example' } },
  ];

  itWithSchemas.each(variants.map((v, i) => [i, v] as const))('variant %i validates against the schemas of every kind', (_i, input) => {
    const snippets = policySnippets(input) as unknown as Partial<Record<keyof typeof schemaFiles, PolicySnippet>>;
    expect(Boolean(snippets.policyControllerAttestationPolicy)).toBe(Boolean(input.attestations?.length));
    // The TrustRoot (custom instances) has no schema here; every other kind present is checked.
    for (const kind of (Object.keys(schemaFiles) as (keyof typeof schemaFiles)[]).filter((k) => snippets[k])) {
      const validate = validators[kind];
      const ok = validate(parsed(snippets[kind]!));
      expect({ kind, errors: ok ? null : validate.errors }).toEqual({ kind, errors: null });
    }
  });

  type Spoil = (d: Doc) => unknown;
  itWithSchemas.each<[keyof typeof schemaFiles, Spoil]>([
    ['kyvernoClusterPolicy', (d: Doc) => (d.spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.subjct = IDENTITY)],
    ['kyvernoClusterPolicy', (d: Doc) => (d.spec.rules[0].verifyImages[0].failureAction = 'Deny')],
    ['kyvernoImageValidatingPolicy', (d: Doc) => (d.spec.validationAction = ['Deny'])],
    ['kyvernoImageValidatingPolicy', (d: Doc) => (d.spec.attestors[0].cosign.keyless.identities[0].isuer = ISSUER)],
    ['policyControllerClusterImagePolicy', (d: Doc) => (d.spec.authorities[0].keyless.identity = [{ issuer: ISSUER, subject: IDENTITY }])],
    ['policyControllerClusterImagePolicy', (d: Doc) => (d.spec.images[0].globb = 'x')],
    ['kyvernoClusterPolicy', (d: Doc) => (d.spec.rules[0].verifyImages[0].attestations[0].predicateTyp = SLSA1)],
    ['kyvernoImageValidatingPolicy', (d: Doc) => (d.spec.attestations[0].intoto.typ = SLSA1)],
    ['policyControllerAttestationPolicy', (d: Doc) => (d.spec.authorities[0].attestations[0].type = SLSA1)],
  ])('rejects a deliberate mistake in %s', (kind, spoil) => {
    const d = parsed(policySnippets({ ...base, attestations: [SLSA1] })[kind]!);
    expect(validators[kind](d)).toBe(true);
    spoil(d);
    expect(validators[kind](d)).toBe(false);
  });
});

describe('attestations required beside the signature', () => {
  const cases = FORMATS.flatMap((format) => STAGES.map((stage) => ({ format, stage })));

  it.each(cases)('$format/$stage: each kind requires a provenance attestation by the same keyless identity', ({ format, stage }) => {
    const s = policySnippets({ ...base, format, stage, attestations: [SLSA1] });
    const vi = parsed(s.kyvernoClusterPolicy).spec.rules[0].verifyImages[0];
    // The signature stays required; the attestation is checked with the same attestor.
    expect(vi.attestors[0].entries[0].keyless).toMatchObject({ subject: IDENTITY, issuer: ISSUER });
    expect(vi.attestations).toEqual([{ name: 'slsaprovenance1', type: SLSA1, attestors: vi.attestors }]);
    expect(vi.type).toBe(format === 'bundle' ? 'SigstoreBundle' : 'Cosign');

    const ivp = parsed(s.kyvernoImageValidatingPolicy).spec;
    expect(ivp.attestations).toEqual([{ name: 'slsaprovenance1', intoto: { type: SLSA1 } }]);
    expect(ivp.validations.map((v: Doc) => v.expression)).toEqual([
      expect.stringContaining('verifyImageSignatures(image, [attestors.sigstore])'),
      expect.stringMatching(/^\(images\.containers \+ images\.initContainers \+ images\.ephemeralContainers\)\.map\(image, verifyAttestationSignatures\(image, attestations\.slsaprovenance1, \[attestors\.sigstore\]\)\)\.all\(e, e > 0\)$/),
    ]);

    // policy-controller admits on any one authority, but every matching policy must pass: a second policy.
    const signature = parsed(s.policyControllerClusterImagePolicy);
    const attested = parsed(s.policyControllerAttestationPolicy!);
    expect(signature.spec.authorities).toHaveLength(1);
    expect(JSON.stringify(signature)).not.toContain(SLSA1);
    expect(attested.metadata.name).toBe('verify-acme-app-attested');
    expect(attested.metadata.name).not.toBe(signature.metadata.name);
    expect(attested.spec).toMatchObject({ mode: stage === 'audit' ? 'warn' : 'enforce', images: signature.spec.images });
    expect(attested.spec.authorities).toEqual([
      expect.objectContaining({
        keyless: signature.spec.authorities[0].keyless,
        ctlog: signature.spec.authorities[0].ctlog,
        attestations: [{ name: 'slsaprovenance1', predicateType: SLSA1 }],
        ...(format === 'bundle' ? { signatureFormat: 'bundle' } : {}),
      }),
    ]);
    expect(s.policyControllerClusterImagePolicy.notes.join(' ')).toMatch(/second ClusterImagePolicy/);
    expect(s.kyvernoClusterPolicy.yaml).toContain(`Also requires attestations by that identity of type ${SLSA1}.`);
  });

  it('names several types by CEL identifiers, and adds nothing without attestations', () => {
    const s = policySnippets({ ...base, attestations: [SLSA1, 'https://spdx.dev/Document', 'https://example.com/x-y/v1'] });
    expect(parsed(s.kyvernoImageValidatingPolicy).spec.attestations.map((a: Doc) => a.name)).toEqual(['slsaprovenance1', 'spdx', 'attestation3']);
    const plain = policySnippets(base);
    expect(plain.policyControllerAttestationPolicy).toBeUndefined();
    expect(parsed(plain.kyvernoClusterPolicy).spec.rules[0].verifyImages[0].attestations).toBeUndefined();
    expect(parsed(plain.kyvernoImageValidatingPolicy).spec.attestations).toBeUndefined();
  });
});
