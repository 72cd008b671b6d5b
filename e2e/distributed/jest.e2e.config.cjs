// The distributed scenarios (spec §6): N worker replicas as separate processes, driven through Kafka.
const preset = require('../../jest.preset.cjs');

module.exports = {
  ...preset,
  displayName: 'distributed-e2e',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.e2e.test.ts'],
  testTimeout: 900_000,
  reporters: [
    'default',
    [require.resolve('../../tools/jest/results-reporter.cjs'), { name: 'distributed-e2e' }],
  ],
};
