/**
 * The sandbox instance's trust documents, built from its keys and
 * certificates: a protobuf-specs TrustedRoot (what `trusted-root` inputs,
 * cosign `--trusted-root` and @sigstore/verify read) and a SigningConfig
 * (the service URLs, as sigstore clients discover them).
 */
import { X509Certificate } from '@sigstore/core';
import { HashAlgorithm, PublicKeyDetails, ServiceSelector, SigningConfig, TrustedRoot, type TransparencyLogInstance } from '@sigstore/protobuf-specs';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';
const OPERATOR = 'sign-action sandbox';

interface LogKey {
  url: string;
  logId: Buffer;
  publicKeyDer: Buffer;
  startedAt: Date;
}

export interface TrustInputs {
  fulcio: { url: string; rootCertificate: Buffer; ctLog: { logId: Buffer; publicKeyDer: Buffer } };
  rekorV1: LogKey;
  rekorV2: LogKey;
  tsa: { url: string; rootCertificate: Buffer; signingCertificate: Buffer };
}

const notBefore = (der: Buffer): Date => X509Certificate.parse(der as Buffer<ArrayBuffer>).notBefore;

function logInstance(baseUrl: string, logId: Buffer, publicKeyDer: Buffer, start: Date): TransparencyLogInstance {
  return {
    baseUrl,
    hashAlgorithm: HashAlgorithm.SHA2_256,
    publicKey: { rawBytes: publicKeyDer, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: { start } },
    logId: { keyId: logId },
    checkpointKeyId: undefined,
    operator: OPERATOR,
  };
}

/** TrustedRoot JSON (protobuf-specs JSON mapping) for the sandbox services. */
export function buildTrustedRoot(t: TrustInputs): object {
  const caStart = notBefore(t.fulcio.rootCertificate);
  const root: TrustedRoot = {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [t.rekorV1, t.rekorV2].map((l) => logInstance(l.url, l.logId, l.publicKeyDer, l.startedAt)),
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: t.fulcio.url,
        certChain: { certificates: [{ rawBytes: t.fulcio.rootCertificate }] },
        validFor: { start: caStart },
        operator: OPERATOR,
      },
    ],
    ctlogs: [logInstance(`${t.fulcio.url}/ct`, t.fulcio.ctLog.logId, t.fulcio.ctLog.publicKeyDer, caStart)],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: `${t.tsa.url}/api/v1/timestamp`,
        // Leaf (signing certificate) first, root last: verifiers match the leaf to the timestamp's signer.
        certChain: { certificates: [{ rawBytes: t.tsa.signingCertificate }, { rawBytes: t.tsa.rootCertificate }] },
        validFor: { start: notBefore(t.tsa.signingCertificate) },
        operator: OPERATOR,
      },
    ],
  };
  return TrustedRoot.toJSON(root) as object;
}

/**
 * SigningConfig v0.2 JSON: Fulcio, both Rekors (v1 and v2), and the TSA. With
 * `rekorV2: false`, Rekor v1 only: the shape of Sigstore's `signing_config.v0.2.json`
 * target (its `signing_config_rekor_v2.v0.2.json` lists both, v2 first).
 */
export function buildSigningConfig(t: TrustInputs, opts: { rekorV2?: boolean } = {}): object {
  const start = notBefore(t.fulcio.rootCertificate);
  const service = (url: string, majorApiVersion: number) => ({ url, majorApiVersion, validFor: { start }, operator: OPERATOR });
  const config: SigningConfig = {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(t.fulcio.url, 1)],
    oidcUrls: [],
    rekorTlogUrls: opts.rekorV2 === false ? [service(t.rekorV1.url, 1)] : [service(t.rekorV2.url, 2), service(t.rekorV1.url, 1)],
    rekorTlogConfig: { selector: ServiceSelector.ANY, count: 0 },
    tsaUrls: [service(`${t.tsa.url}/api/v1/timestamp`, 1)],
    tsaConfig: { selector: ServiceSelector.ANY, count: 0 },
  };
  return SigningConfig.toJSON(config) as object;
}
