// The harness's pure tests (*.test.ts: no services). The e2e projects are outside the jest plugin
// (nx.json), so the `test` target of project.json names this config.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'harness',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testTimeout: 60_000,
};
