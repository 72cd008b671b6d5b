/* eslint-disable */
export default {
  displayName: 'contracts',
  preset: '../../jest.preset.cjs',
  rootDir: '.',
  testTimeout: 60_000,
};
