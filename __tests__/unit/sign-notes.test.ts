import { KYVERNO_REFERRER_LIMIT, referrerCountNotes } from '../../src/sign/bundle.js';

describe('referrer count warning', () => {
  it('stays quiet well below Kyverno’s limit and warns as a digest approaches it', () => {
    expect(referrerCountNotes(1)).toBeUndefined();
    expect(referrerCountNotes(KYVERNO_REFERRER_LIMIT - 11)).toBeUndefined();
    expect(referrerCountNotes(KYVERNO_REFERRER_LIMIT - 10)?.[0]).toMatch(/40 referrers; Kyverno \(type: SigstoreBundle\) rejects digests with more than 50/);
    expect(referrerCountNotes(60)?.[0]).toMatch(/^this digest has 60 referrers/);
  });
});
