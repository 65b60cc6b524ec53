/**
 * policy-controller's TrustRoot (policy.sigstore.dev/v1alpha1) for a custom Sigstore
 * instance, from its trusted_root.json, so that the ClusterImagePolicy we print
 * (which names it in `trustRootRef`) works as soon as both are applied.
 *
 * `spec.sigstoreKeys` holds PEM, base64-encoded as Go encodes []byte in JSON
 * (policy-controller `pkg/apis/policy/v1alpha1/trustroot_types.go`, read by
 * `pkg/apis/config/sigstore_keys.go` ConvertSigstoreKeys): a CA's `certChain` is its
 * certificates as PEM, a log's `publicKey` a PEM public key, `hashAlgorithm`
 * `sha-256`. Log ids are derived from the keys there, so none are written.
 */
import type { YamlValue } from './yaml.js';

interface CaJson {
  subject?: { organization?: string; commonName?: string };
  uri?: string;
  certChain?: { certificates?: { rawBytes?: string }[] };
}
interface LogJson {
  baseUrl?: string;
  publicKey?: { rawBytes?: string };
}
interface TrustedRootJson {
  certificateAuthorities?: CaJson[];
  tlogs?: LogJson[];
  ctlogs?: LogJson[];
  timestampAuthorities?: CaJson[];
}

function pem(label: 'CERTIFICATE' | 'PUBLIC KEY', base64: string): string {
  const lines = Buffer.from(base64, 'base64').toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
const goBytes = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function authority(ca: CaJson): { [key: string]: YamlValue } | undefined {
  const certs = (ca.certChain?.certificates ?? []).flatMap((c) => (c.rawBytes ? [pem('CERTIFICATE', c.rawBytes)] : []));
  if (!certs.length || !ca.uri) return undefined;
  return {
    subject: { organization: ca.subject?.organization ?? '', commonName: ca.subject?.commonName ?? '' },
    uri: ca.uri,
    certChain: goBytes(certs.join('')),
  };
}

function log(l: LogJson): { [key: string]: YamlValue } | undefined {
  if (!l.publicKey?.rawBytes || !l.baseUrl) return undefined;
  return { baseURL: l.baseUrl, hashAlgorithm: 'sha-256', publicKey: goBytes(pem('PUBLIC KEY', l.publicKey.rawBytes)) };
}

const defined = <T>(items: (T | undefined)[]): T[] => items.filter((i): i is T => i !== undefined);

/** The TrustRoot object, or undefined when the trusted root lists no usable CA (nothing to trust). */
export function policyControllerTrustRootObject(name: string, trustedRootJson: string): { [key: string]: YamlValue } | undefined {
  let root: TrustedRootJson;
  try {
    root = JSON.parse(trustedRootJson) as TrustedRootJson;
  } catch {
    return undefined;
  }
  const certificateAuthorities = defined((root.certificateAuthorities ?? []).map(authority));
  if (!certificateAuthorities.length) return undefined;
  const tLogs = defined((root.tlogs ?? []).map(log));
  const ctLogs = defined((root.ctlogs ?? []).map(log));
  const timestampAuthorities = defined((root.timestampAuthorities ?? []).map(authority));
  return {
    apiVersion: 'policy.sigstore.dev/v1alpha1',
    kind: 'TrustRoot',
    metadata: { name },
    spec: {
      sigstoreKeys: {
        certificateAuthorities,
        tLogs: tLogs.length ? tLogs : undefined,
        ctLogs: ctLogs.length ? ctLogs : undefined,
        timestampAuthorities: timestampAuthorities.length ? timestampAuthorities : undefined,
      },
    },
  };
}
