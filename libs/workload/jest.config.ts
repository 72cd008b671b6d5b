export default {
  displayName: 'workload',
  preset: '../../jest.preset.cjs',
  rootDir: '.',
  testTimeout: 60_000,
};
