export default {
  displayName: 'event-generator',
  preset: '../../jest.preset.cjs',
  rootDir: '.',
  testTimeout: 60_000,
};
