import baseConfig from '../../eslint.config.mjs';

// The suite configures replicas and scenarios from its environment (E2E_*, ELS_TEST_*): it is a test
// harness, not an app with a single config module.
export default [...baseConfig, { files: ['**/*.ts'], rules: { 'no-restricted-syntax': 'off' } }];
