// The distributed scenarios (docs/guides/testing.md): N worker replicas as separate processes (or containers of the Compose
// stack, E2E_DRIVER=compose), driven through Kafka.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'distributed-e2e',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.e2e.test.ts'],
  testTimeout: 900_000,
  // E2E_DRIVER=compose points the test endpoints at the Compose stack before any module reads them.
  setupFiles: ['<rootDir>/../harness/src/driver-environment.ts'],
  reporters: [
    'default',
    // The Compose driver's results beside the process driver's, so one CI run can hold both.
    [
      require.resolve('../../tools/jest/results-reporter.cjs'),
      { name: process.env.E2E_DRIVER === 'compose' ? 'distributed-e2e-compose' : 'distributed-e2e' },
    ],
  ],
};
