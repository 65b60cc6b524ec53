import { identityMatcher, looseRegexpWarning } from '../../src/verify/policy.js';

const ID = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

describe('identity policy anchoring', () => {
  it('matches an exact identity literally and only whole', () => {
    const m = identityMatcher({ exact: ID, issuer: 'i' });
    expect(m.test(ID)).toBe(true);
    expect(m.test(`${ID}-evil`)).toBe(false);
    expect(m.test(`https://github.com/evil/x?${ID}`)).toBe(false);
    expect(m.test(ID.replace('release.yml', 'releaseXyml'))).toBe(false); // "." is not a wildcard
  });

  it('anchors a regexp to the whole identity', () => {
    const m = identityMatcher({ regexp: 'https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*', issuer: 'i' });
    expect(m.test('https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3')).toBe(true);
    expect(m.test('https://github.com/attacker/x?https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1')).toBe(false);
    const alt = identityMatcher({ regexp: 'a|b', issuer: 'i' });
    expect(alt.test('xb')).toBe(false); // alternation stays inside the anchors
  });

  it('warns about patterns that let any ref through', () => {
    expect(looseRegexpWarning('https://github.com/acme/app/.github/workflows/release.yml@refs/.+')).toMatch(/accepts any text where it says '\.\+'/);
    expect(looseRegexpWarning('https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/heads/main')).toBeUndefined();
  });
});
