export default {
  displayName: 'test-kit',
  preset: '../../jest.preset.cjs',
  rootDir: '.',
  testTimeout: 60_000,
};
