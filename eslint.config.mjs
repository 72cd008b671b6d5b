import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

// Module boundaries (CONTRIBUTING.md §1): contracts depend on nothing internal; coordination on contracts only
// and never on kafkajs or fastify; the workload library (the event generator's programmatic API) on contracts;
// apps on libs; the e2e projects on libs, never on apps (they start their bundles as processes). The e2e
// harness (replicas, stack faults, the Kafka probe) on contracts, the workload library and the test kit; the
// distributed suite and the benchmark on the harness and libs, never on each other. The test kit depends on
// nothing internal and is for tests only (testDependencyConstraints below).
export const dependencyConstraints = [
  {
    sourceTag: 'type:contracts',
    onlyDependOnLibsWithTags: [],
    bannedExternalImports: [
      'kafkajs',
      'fastify',
      'ioredis',
      'postgres',
      'drizzle-orm',
      'drizzle-orm/*',
      'pino',
      'prom-client',
    ],
  },
  {
    sourceTag: 'type:domain',
    onlyDependOnLibsWithTags: ['type:contracts'],
    bannedExternalImports: ['kafkajs', 'fastify', 'fastify/*', '@fastify/*'],
  },
  { sourceTag: 'type:workload', onlyDependOnLibsWithTags: ['type:contracts'] },
  { sourceTag: 'type:test-kit', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:workload'] },
  {
    sourceTag: 'type:e2e-harness',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:workload', 'type:test-kit'],
  },
  {
    sourceTag: 'type:e2e',
    onlyDependOnLibsWithTags: [
      'type:e2e-harness',
      'type:domain',
      'type:contracts',
      'type:workload',
      'type:test-kit',
    ],
  },
  {
    sourceTag: 'type:e2e-bench',
    onlyDependOnLibsWithTags: ['type:e2e-harness', 'type:domain', 'type:contracts', 'type:test-kit'],
  },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:worker', onlyDependOnLibsWithTags: ['scope:shared', 'scope:worker'] },
  { sourceTag: 'scope:generator', onlyDependOnLibsWithTags: ['scope:shared', 'scope:generator'] },
  { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared', 'scope:generator', 'scope:e2e'] },
];

// Tags are per project, so the rule cannot tell a project's tests from its production code by tags alone;
// the files below get the same constraints with the test kit added to every type. Test files and test
// entries only: production code of a lib or app importing @els/test-kit stays a lint error.
const testFiles = ['**/*.test.ts', '**/testing.ts', '**/testing/**/*.ts'];
const testDependencyConstraints = dependencyConstraints.map((constraint) =>
  constraint.sourceTag.startsWith('type:') && !constraint.onlyDependOnLibsWithTags.includes('type:test-kit')
    ? { ...constraint, onlyDependOnLibsWithTags: [...constraint.onlyDependOnLibsWithTags, 'type:test-kit'] }
    : constraint,
);

const boundaryRule = (depConstraints) => [
  'error',
  { enforceBuildableLibDependency: false, allow: [], depConstraints },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  prettier,
  { ignores: ['**/dist', '**/node_modules', '**/.cache', '**/*.cjs', '**/*.mjs', '**/drizzle/**'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaryRule(dependencyConstraints),
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read process.env only in main.ts / config parsing (CONTRIBUTING.md §3).',
        },
      ],
    },
  },
  { files: testFiles, rules: { '@nx/enforce-module-boundaries': boundaryRule(testDependencyConstraints) } },
  {
    files: [
      '**/main.ts',
      '**/config.ts',
      ...testFiles,
      '**/stack-endpoints.ts',
      'e2e/**/*.ts',
      'apps/event-generator/**/*.ts',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
];
