import { formatRef, parseDigest, parseReference, repositoryOf } from '../../src/subjects/reference.js';
import { isLoopbackHost } from '../../src/registry/hosts.js';
import { thrown } from '../helpers/thrown.js';

const D256 = `sha256:${'0123456789abcdef'.repeat(4)}`;
const D512 = `sha512:${'fedcba9876543210'.repeat(8)}`;

describe('parseReference: accepted references', () => {
  it.each([
    ['ghcr.io/acme/app', 'ghcr.io', 'acme/app', undefined, undefined],
    ['ghcr.io/acme/app:1.2.3', 'ghcr.io', 'acme/app', '1.2.3', undefined],
    [`ghcr.io/acme/app@${D256}`, 'ghcr.io', 'acme/app', undefined, D256],
    [`ghcr.io/acme/app:v1@${D256}`, 'ghcr.io', 'acme/app', 'v1', D256],
    [`ghcr.io/acme/app@${D512}`, 'ghcr.io', 'acme/app', undefined, D512],
    ['docker.io/acme/app', 'index.docker.io', 'acme/app', undefined, undefined],
    ['docker.io/nginx', 'index.docker.io', 'library/nginx', undefined, undefined],
    ['index.docker.io/library/nginx:latest', 'index.docker.io', 'library/nginx', 'latest', undefined],
    ['registry-1.docker.io/nginx', 'index.docker.io', 'library/nginx', undefined, undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/x', 'localhost:5000', 'x', undefined, undefined],
    ['127.0.0.1:5000/x/y:t', '127.0.0.1:5000', 'x/y', 't', undefined],
    [`[::1]:5000/x@${D256}`, '[::1]:5000', 'x', undefined, D256],
    ['[::1]/x:tag', '[::1]', 'x', 'tag', undefined],
    ['registry.example.com:443/a/b/c.d_e__f-g--h', 'registry.example.com:443', 'a/b/c.d_e__f-g--h', undefined, undefined],
    ['ghcr.io/acme/app:_A.b-9', 'ghcr.io', 'acme/app', '_A.b-9', undefined],
  ])('%s', (text, registry, repository, tag, digest) => {
    const ref = parseReference(text);
    expect(ref).toEqual({ registry, repository, original: text, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) });
  });

  it('keeps the text as written, trimmed, in original', () => {
    expect(parseReference('  ghcr.io/acme/app:1  ').original).toBe('ghcr.io/acme/app:1');
  });

  it('reads names without a host as Docker Hub only when asked (metadata)', () => {
    const nginx = parseReference('nginx', { implicitDockerHub: true });
    expect(repositoryOf(nginx)).toBe('index.docker.io/library/nginx');
    const app = parseReference(`acme/app:1@${D256}`, { implicitDockerHub: true });
    expect(formatRef(app)).toBe(`index.docker.io/acme/app:1@${D256}`);
  });

  it('repositoryOf gives cosign\'s docker-reference and formatRef the normalised text', () => {
    expect(repositoryOf(parseReference('docker.io/nginx:1.27'))).toBe('index.docker.io/library/nginx');
    expect(formatRef(parseReference(`docker.io/nginx:1.27@${D256}`))).toBe(`index.docker.io/library/nginx:1.27@${D256}`);
    expect(formatRef(parseReference('[::1]:5000/x'))).toBe('[::1]:5000/x');
  });
});

describe('parseReference: rejected references name the input, the text and a fix', () => {
  it.each([
    ['', /empty/, /ghcr\.io/],
    ['acme/app', /no registry host/, /docker\.io\/acme\/app for Docker Hub, ghcr\.io\/acme\/app for GHCR/],
    ['nginx', /no registry host/, /docker\.io\/nginx/],
    ['nginx:latest', /no registry host/, /ghcr\.io\/nginx:latest/],
    ['ghcr.io/Acme/App:v1', /must be lower-case/, /use ghcr\.io\/acme\/app:v1/],
    ['ghcr.io/acme/app:v1@', /nothing follows "@"/, /digest after @/],
    ['ghcr.io/acme/app@sha256:abc', /has 3 hex digits, not 64/, /whole digest/],
    [`ghcr.io/acme/app@sha512:${'a'.repeat(64)}`, /has 64 hex digits, not 128/, /whole digest/],
    [`ghcr.io/acme/app@md5:${'a'.repeat(32)}`, /algorithm "md5" is unknown/, /sha256/],
    [`ghcr.io/acme/app@sha256:${'A'.repeat(64)}`, /upper-case hex/, new RegExp(`sha256:${'a'.repeat(64)}`)],
    [`ghcr.io/acme/app@SHA256:${'a'.repeat(64)}`, /"SHA256" must be lower-case/, /write sha256:/],
    [`ghcr.io/acme/app@sha256:${'g'.repeat(64)}`, /not hexadecimal/, /64 hex digits/],
    [`ghcr.io/acme/app@${'a'.repeat(64)}`, /has no algorithm/, /sha256:/],
    [`ghcr.io/acme/app@${D256}@${D256}`, /more than one "@"/, /one digest/],
    ['ghcr.io//app', /empty component/, /extra "\/"/],
    ['ghcr.io/acme/app/', /empty component/, /extra "\/"/],
    ['ghcr.io/acme/app:', /nothing follows ":"/, /tag/],
    ['ghcr.io/acme/app:-bad', /tag "-bad" is not allowed/, /do not start with/],
    [`ghcr.io/acme/app:${'t'.repeat(129)}`, /129 characters long/, /shorter tag/],
    ['ghcr.io/acme/-app', /"-app" is not allowed/, /lower-case letters and digits/],
    ['ghcr.io/acme/a..b', /"a..b" is not allowed/, /lower-case letters and digits/],
    [`ghcr.io/${'a/'.repeat(127)}ab`, /more than 255/, /shorter/],
    ['https://ghcr.io/acme/app', /no URL scheme/, /write ghcr\.io\/acme\/app/],
    ['ghcr.io', /registry host but no repository/, /ghcr\.io\/acme\/app/],
    ['localhost:5000', /registry host but no repository/, /localhost\/acme\/app/],
    ['ghcr.io:99999/app', /port 99999/, /between 1 and 65535/],
    ['GHCR.io/acme/app', /upper-case letters/, /ghcr\.io\/acme\/app/],
    ['bad_host.io/app', /not a valid registry host/, /host\[:port\]/],
    ['[::zz]:5000/app', /not a valid registry host/, /\[::1\]:5000/],
    ['ghcr.io/acme/a pp', /white space/, /newlines or commas/],
  ])('%j', (text, what, fix) => {
    const err = thrown(() => parseReference(text));
    expect(err.input).toBe('images');
    expect(err.message).toMatch(what);
    expect(err.fix).toMatch(fix);
    expect(err.message).toContain(`Fix: ${err.fix}`);
    if (text) expect(err.image).toBe(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  });

  it('names the input it is told to (metadata)', () => {
    expect(thrown(() => parseReference('ghcr.io/Acme/app', { input: 'metadata' })).input).toBe('metadata');
  });
});

describe('parseDigest', () => {
  it('splits algorithm and hex', () => {
    expect(parseDigest(D256)).toEqual({ algorithm: 'sha256', hex: D256.slice(7), value: D256 });
    expect(parseDigest(` ${D512} `).value).toBe(D512);
  });

  it('carries the details it is given into its errors', () => {
    const err = thrown(() => parseDigest('sha256:12', { input: 'digest', image: 'ghcr.io/a/b' }));
    expect(err.input).toBe('digest');
    expect(err.image).toBe('ghcr.io/a/b');
    expect(err.message).toMatch(/2 hex digits, not 64/);
  });
});

describe('isLoopbackHost (plain HTTP only for these)', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.1.2.3:8443', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['[0:0:0:0:0:0:0:1]:80', true],
    ['127.0.0.256', false],
    ['128.0.0.1', false],
    ['localhost.example.com', false],
    ['127.0.0.1.nip.io', false],
    ['[::2]:5000', false],
    ['[fe80::1%eth0]', false],
    ['ghcr.io', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
