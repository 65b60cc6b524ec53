describe('toolchain', () => {
  it('runs the tests on Node 24, the runtime of a node24 action', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
  });
});
