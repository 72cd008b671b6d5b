// Worker fault integration tests (*.int.test.ts: real worker processes against the local stack) and the
// suite's pure tests (*.test.ts); the scenarios (*.e2e.test.ts) are jest.e2e.config.cjs's. The fault tests
// stop and start the shared PostgreSQL and Redis, so they run serially (--runInBand) and only in this project.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'distributed',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '\\.e2e\\.test\\.ts$'],
  testTimeout: 180_000,
};
