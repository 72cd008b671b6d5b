// The benchmark's pure tests (*.test.ts: no services; the measurements themselves are `nx run bench:run`).
// The e2e projects are outside the jest plugin (nx.json), so the `test` target of project.json names this config.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'bench',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testTimeout: 60_000,
};
