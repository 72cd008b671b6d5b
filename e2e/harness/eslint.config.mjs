import baseConfig from '../../eslint.config.mjs';

// Replicas and stack endpoints come from the run's environment (E2E_*, ELS_TEST_*, BENCH_NODE_ARGS): a test
// harness, not an app with a single config module.
export default [...baseConfig, { files: ['**/*.ts'], rules: { 'no-restricted-syntax': 'off' } }];
