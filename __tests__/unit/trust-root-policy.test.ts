/**
 * policy-controller's TrustRoot for a custom instance: PEM in Go's []byte JSON form (base64),
 * printed before the ClusterImagePolicy that names it, and only where there are keys to print.
 * (The interop suite has the real policy-tester read it.)
 */
import { parse } from 'yaml';
import { policySnippets, type PolicyInput } from '../../src/report/policies.js';
import { snippetsOf } from '../../src/report/policy-output.js';
import { policyControllerTrustRootObject } from '../../src/report/trust-root-policy.js';

const der = (n: number) => Buffer.from([0x30, n, 1, 2, 3]).toString('base64');
const trustedRoot = JSON.stringify({
  certificateAuthorities: [{ subject: { organization: 'o', commonName: 'c' }, uri: 'https://fulcio.example', certChain: { certificates: [{ rawBytes: der(1) }, { rawBytes: der(2) }] } }],
  tlogs: [{ baseUrl: 'https://rekor.example', publicKey: { rawBytes: der(3) } }],
  ctlogs: [{ baseUrl: 'https://ct.example', publicKey: { rawBytes: der(4) } }],
  timestampAuthorities: [],
});
const base: PolicyInput = {
  identity: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
  imagePattern: 'registry.example/acme/app*',
  format: 'legacy',
  stage: 'enforce',
  custom: { fulcioUrl: 'https://fulcio.example', rekorUrl: 'https://rekor.example', trustedRootJson: trustedRoot },
};
const pemOf = (goBytes: string) => Buffer.from(goBytes, 'base64').toString('utf8');

describe('policy-controller TrustRoot', () => {
  it('holds every CA certificate and log key as base64 of PEM, named as the policy references it', () => {
    const tr = policyControllerTrustRootObject('x-trust-root', trustedRoot) as { metadata: { name: string }; spec: { sigstoreKeys: Record<string, { [k: string]: string }[]> } };
    expect(tr.metadata.name).toBe('x-trust-root');
    const keys = tr.spec.sigstoreKeys;
    const chain = pemOf(keys.certificateAuthorities[0].certChain);
    expect(chain.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(chain).toContain(der(1));
    expect(keys.tLogs[0]).toMatchObject({ baseURL: 'https://rekor.example', hashAlgorithm: 'sha-256' });
    expect(pemOf(keys.tLogs[0].publicKey)).toBe(`-----BEGIN PUBLIC KEY-----\n${der(3)}\n-----END PUBLIC KEY-----\n`);
    expect(pemOf(keys.ctLogs[0].publicKey)).toContain(der(4));
    expect(keys.timestampAuthorities).toBeUndefined();
  });

  it('comes before the ClusterImagePolicy, whose trustRootRef names it; none on public-good or without keys', () => {
    const snippets = policySnippets(base);
    const kinds = snippetsOf(snippets).map((s) => s.kind);
    expect(kinds.indexOf('TrustRoot')).toBe(kinds.indexOf('ClusterImagePolicy') - 1);
    const cip = parse(snippets.policyControllerClusterImagePolicy.yaml);
    expect(cip.spec.authorities[0].keyless.trustRootRef).toBe(parse(snippets.policyControllerTrustRoot!.yaml).metadata.name);
    expect(snippets.policyControllerClusterImagePolicy.notes.join(' ')).toMatch(/Apply the TrustRoot .* first/);
    expect(policySnippets({ ...base, custom: undefined }).policyControllerTrustRoot).toBeUndefined();
    expect(policySnippets({ ...base, custom: { ...base.custom!, trustedRootJson: '{"certificateAuthorities":[]}' } }).policyControllerTrustRoot).toBeUndefined();
    expect(policyControllerTrustRootObject('x', 'not json')).toBeUndefined();
  });

  it("says that bundle signatures need the instance's TUF repository (policy-controller's inline-key log ids)", () => {
    expect(policySnippets({ ...base, format: 'bundle' }).policyControllerTrustRoot!.yaml).toMatch(/bundle signatures need a TrustRoot from this instance's TUF repository/);
    expect(policySnippets(base).policyControllerTrustRoot!.yaml).not.toMatch(/TUF repository/);
  });
});
