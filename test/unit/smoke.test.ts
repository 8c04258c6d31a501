describe('toolchain', () => {
  it('runs TypeScript tests as ESM', () => {
    expect(typeof import.meta.url).toBe('string');
  });
});
