/* eslint-disable */
export default {
  displayName: 'workspace-lint',
  preset: '../../jest.preset.cjs',
  rootDir: '.',
  testTimeout: 120_000,
};
