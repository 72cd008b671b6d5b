import baseConfig from '../../eslint.config.mjs';

// The runs are sized from their environment (BENCH_PROFILE, BENCH_NODE_ARGS, ELS_TEST_*): a measurement
// script, not an app with a single config module.
export default [...baseConfig, { files: ['**/*.ts'], rules: { 'no-restricted-syntax': 'off' } }];
