/* eslint-disable */
export default {
  displayName: 'coordination',
  preset: '../../jest.preset.cjs',
  rootDir: '.',
  testTimeout: 60_000,
};
