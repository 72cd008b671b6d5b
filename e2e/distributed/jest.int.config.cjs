// Worker fault integration tests (real worker processes against the local stack) and unit tests of the
// measurement helpers. The fault tests stop and start the shared PostgreSQL and Redis, so they run
// serially (--runInBand) and only in this project.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'distributed',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.int.test.ts', '<rootDir>/src/**/*.unit.test.ts'],
  testTimeout: 180_000,
};
