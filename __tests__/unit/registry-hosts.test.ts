import { isLoopbackHost, registryBaseUrl } from '../../src/registry/hosts.js';

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST:5000', '127.0.0.1', '127.0.0.1:5000', '127.255.3.4:80', '[::1]', '[::1]:5000', '[0:0:0:0:0:0:0:1]:5000'])(
    '%s is loopback',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );

  it.each(['ghcr.io', '127.0.0.1.nip.io', 'localhost.example.com', '128.0.0.1', '127.0.0.256', '10.0.0.1:5000', '[::2]:5000', '[::ffff:8.8.8.8]', 'evil-localhost'])(
    '%s is not loopback',
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});

describe('registryBaseUrl', () => {
  it('uses https for every non-loopback host, including Docker Hub', () => {
    expect(registryBaseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(registryBaseUrl('index.docker.io')).toBe('https://index.docker.io');
    expect(registryBaseUrl('docker.io')).toBe('https://index.docker.io');
    expect(registryBaseUrl('registry.example.com:8443')).toBe('https://registry.example.com:8443');
  });

  it('uses plain http only on loopback', () => {
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBaseUrl('[::1]:5000')).toBe('http://[::1]:5000');
  });

  it('rejects things that are not a host', () => {
    for (const bad of ['https://ghcr.io', 'ghcr.io/acme', 'user:pw@ghcr.io', '', 'a b']) {
      expect(() => registryBaseUrl(bad)).toThrow(/not a registry host name/);
    }
  });
});
