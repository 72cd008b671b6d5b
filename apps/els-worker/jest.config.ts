export default {
  displayName: 'els-worker',
  preset: '../../jest.preset.cjs',
  rootDir: '.',
  testTimeout: 60_000,
};
