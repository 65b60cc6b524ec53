import { parseWwwAuthenticate } from '../../src/registry/challenge.js';

describe('parseWwwAuthenticate', () => {
  it('reads a registry Bearer challenge', () => {
    const got = parseWwwAuthenticate(
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/app:pull"',
    );
    expect(got).toEqual([
      { scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:acme/app:pull' } },
    ]);
  });

  it('reads Basic with a realm, scheme and names case-insensitively', () => {
    expect(parseWwwAuthenticate('BASIC Realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  });

  it('splits several challenges in one header', () => {
    const got = parseWwwAuthenticate('Basic realm="a, b", Bearer realm="https://auth.example/token",service=reg , Negotiate');
    expect(got.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(got[0].params.realm).toBe('a, b');
    expect(got[1].params).toEqual({ realm: 'https://auth.example/token', service: 'reg' });
  });

  it('unescapes quoted strings and keeps commas and equals signs inside them', () => {
    const got = parseWwwAuthenticate('Bearer realm="https://x/t?a=1,b=2",error="say \\"hi\\"\\\\"');
    expect(got[0].params.realm).toBe('https://x/t?a=1,b=2');
    expect(got[0].params.error).toBe('say "hi"\\');
  });

  it('tolerates spaces around = and unquoted values holding colons and slashes', () => {
    const got = parseWwwAuthenticate('Bearer realm = "https://r/token" ,  scope=repository:a/b:pull,push');
    // `push` alone is not a parameter: the lenient reading keeps the value up to the comma.
    expect(got[0].params.realm).toBe('https://r/token');
    expect(got[0].params.scope).toBe('repository:a/b:pull');
  });

  it('reads a token68 challenge and one after it', () => {
    const got = parseWwwAuthenticate('Negotiate abc+/def==, Basic realm="r"');
    expect(got[0]).toEqual({ scheme: 'negotiate', params: {}, token68: 'abc+/def==' });
    expect(got[1]).toEqual({ scheme: 'basic', params: { realm: 'r' } });
  });

  it('survives missing headers, an unterminated quote and stray characters', () => {
    expect(parseWwwAuthenticate(null)).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="https://r/token')[0].params.realm).toBe('https://r/token');
    expect(parseWwwAuthenticate('@@ Basic realm=x')[0]).toEqual({ scheme: 'basic', params: { realm: 'x' } });
  });

  it('keeps the first of a repeated parameter', () => {
    expect(parseWwwAuthenticate('Bearer realm="a",realm="b"')[0].params.realm).toBe('a');
  });
});
