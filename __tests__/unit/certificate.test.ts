import 'reflect-metadata';
import crypto, { type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { assertWithinValidity, chainEndsAtRoot } from '../../src/identity/certificate.js';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const keys = async (): Promise<webcrypto.CryptoKeyPair> =>
  (await crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;

describe('assertWithinValidity', () => {
  const cert = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2026-01-01T00:10:00Z') };
  it('accepts the bounds themselves and refuses a second outside them, with no slack', () => {
    expect(() => assertWithinValidity('logged at', cert.notBefore, cert, 'img')).not.toThrow();
    expect(() => assertWithinValidity('logged at', cert.notAfter, cert, 'img')).not.toThrow();
    expect(() => assertWithinValidity('logged at', new Date(cert.notBefore.getTime() - 1), cert, 'img')).toThrow(/outside the certificate's validity/);
    expect(() => assertWithinValidity('logged at', new Date(cert.notAfter.getTime() + 1000), cert, 'img')).toThrow(/img: logged at/);
  });
});

describe('chainEndsAtRoot', () => {
  it('is true only when the last certificate is self-signed (verifiers drop it as the root)', async () => {
    const rootKeys = await keys();
    const intKeys = await keys();
    const root = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=root', keys: rootKeys, signingAlgorithm: alg }, crypto.webcrypto);
    const intermediate = await x509.X509CertificateGenerator.create(
      { subject: 'CN=intermediate', issuer: root.subject, publicKey: intKeys.publicKey, signingKey: rootKeys.privateKey, signingAlgorithm: alg },
      crypto.webcrypto,
    );
    const pem = (c: x509.X509Certificate): string => c.toString('pem');
    expect(chainEndsAtRoot([pem(intermediate), pem(root)])).toBe(true);
    expect(chainEndsAtRoot([pem(root)])).toBe(true);
    expect(chainEndsAtRoot([pem(intermediate)])).toBe(false);
    expect(chainEndsAtRoot([])).toBe(false);
  });
});
