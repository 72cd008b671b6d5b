import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// The layering of CONTRIBUTING.md §1 is only real if lint fails on an import that breaks it. These tests lint
// source texts placed (virtually) inside each project with the workspace's own ESLint config and assert
// on the @nx/enforce-module-boundaries messages.

const repoRoot = path.resolve(__dirname, '../../..');
const BOUNDARY_RULE = '@nx/enforce-module-boundaries';

interface LintMessage {
  ruleId: string | null;
  severity: number;
  message: string;
}

interface DependencyConstraint {
  sourceTag: string;
  onlyDependOnLibsWithTags?: string[];
  bannedExternalImports?: string[];
}

interface Sample {
  filePath: string;
  code: string;
}

/** A file at `filePath` importing `name` from `specifier`. */
const importProbe = (filePath: string, name: string, specifier: string): Sample => ({
  filePath,
  code: `import { ${name} } from '${specifier}';\nexport const probe = ${name};\n`,
});

const samples = {
  domainImportsKafkajs: {
    filePath: 'libs/coordination/src/boundary-probe.ts',
    code: "import { Kafka } from 'kafkajs';\nexport const probe = Kafka;\n",
  },
  domainImportsFastify: {
    filePath: 'libs/coordination/src/boundary-probe.ts',
    code: "import fastify from 'fastify';\nexport const probe = fastify;\n",
  },
  domainImportsApp: {
    filePath: 'libs/coordination/src/boundary-probe.ts',
    code: "import { probe as app } from '../../../apps/els-worker/src/main';\nexport const probe = app;\n",
  },
  contractsImportsDomain: {
    filePath: 'libs/contracts/src/boundary-probe.ts',
    code: "import * as coordination from '@els/coordination';\nexport const probe = coordination;\n",
  },
  contractsImportsPostgres: {
    filePath: 'libs/contracts/src/boundary-probe.ts',
    code: "import postgres from 'postgres';\nexport const probe = postgres;\n",
  },
  domainImportsContracts: importProbe('libs/coordination/src/boundary-probe.ts', 'TOPICS', '@els/contracts'),
  appImportsLibsAndKafkajs: {
    filePath: 'apps/els-worker/src/boundary-probe.ts',
    code: [
      "import { Kafka } from 'kafkajs';",
      "import { TOPICS } from '@els/contracts';",
      "import * as coordination from '@els/coordination';",
      'export const probe = [Kafka, TOPICS, coordination];',
      '',
    ].join('\n'),
  },
  appImportsTestKit: importProbe('apps/els-worker/src/boundary-probe.ts', 'waitFor', '@els/test-kit'),
  domainImportsTestKit: importProbe('libs/coordination/src/boundary-probe.ts', 'waitFor', '@els/test-kit'),
  appTestImportsTestKit: importProbe(
    'apps/els-worker/src/boundary-probe.int.test.ts',
    'waitFor',
    '@els/test-kit',
  ),
  contractsTestImportsTestKit: importProbe(
    'libs/contracts/src/boundary-probe.test.ts',
    'waitFor',
    '@els/test-kit',
  ),
  domainTestEntryImportsTestKit: importProbe(
    'libs/coordination/src/testing.ts',
    'TEST_SERVER_URL',
    '@els/test-kit',
  ),
  e2eImportsTestKit: importProbe('e2e/distributed/src/boundary-probe.ts', 'waitFor', '@els/test-kit'),
  testKitImportsDomain: {
    filePath: 'libs/test-kit/src/boundary-probe.ts',
    code: "import * as coordination from '@els/coordination';\nexport const probe = coordination;\n",
  },
  generatorImportsWorkload: importProbe(
    'apps/event-generator/src/boundary-probe.ts',
    'planWave',
    '@els/workload',
  ),
  e2eImportsWorkload: importProbe('e2e/distributed/src/boundary-probe.ts', 'planWave', '@els/workload'),
  workerImportsWorkload: importProbe('apps/els-worker/src/boundary-probe.ts', 'planWave', '@els/workload'),
  workloadImportsDomain: {
    filePath: 'libs/workload/src/boundary-probe.ts',
    code: "import * as coordination from '@els/coordination';\nexport const probe = coordination;\n",
  },
  workloadImportsTestKit: importProbe('libs/workload/src/boundary-probe.ts', 'waitFor', '@els/test-kit'),
  e2eImportsAppFile: {
    filePath: 'e2e/distributed/src/boundary-probe.ts',
    code: "import { USAGE } from '../../../apps/event-generator/src/cli-usage';\nexport const probe = USAGE;\n",
  },
  suiteImportsHarness: importProbe(
    'e2e/distributed/src/boundary-probe.ts',
    'createWorkerCluster',
    '@els/harness',
  ),
  benchImportsHarness: importProbe('e2e/bench/src/boundary-probe.ts', 'createWorkerCluster', '@els/harness'),
  benchImportsLibs: {
    filePath: 'e2e/bench/src/boundary-probe.ts',
    code: [
      "import { TOPICS } from '@els/contracts';",
      "import { createTestDatabase } from '@els/coordination/testing';",
      "import { uniqueKafkaNames } from '@els/test-kit';",
      'export const probe = [TOPICS, createTestDatabase, uniqueKafkaNames];',
      '',
    ].join('\n'),
  },
  harnessImportsLibs: {
    filePath: 'e2e/harness/src/boundary-probe.ts',
    code: [
      "import { TOPICS } from '@els/contracts';",
      "import { waitFor } from '@els/test-kit';",
      "import { runHttpLoad } from '@els/workload';",
      'export const probe = [TOPICS, waitFor, runHttpLoad];',
      '',
    ].join('\n'),
  },
  harnessImportsDomain: importProbe(
    'e2e/harness/src/boundary-probe.ts',
    'createTestDatabase',
    '@els/coordination',
  ),
  harnessImportsSuiteFile: importProbe(
    'e2e/harness/src/boundary-probe.ts',
    'THRESHOLDS',
    '../../distributed/src/checker/thresholds',
  ),
  harnessImportsBenchFile: importProbe(
    'e2e/harness/src/boundary-probe.ts',
    'targetVerdicts',
    '../../bench/src/bench-targets',
  ),
  benchImportsSuiteFile: importProbe(
    'e2e/bench/src/boundary-probe.ts',
    'THRESHOLDS',
    '../../distributed/src/checker/thresholds',
  ),
  suiteImportsBenchFile: importProbe(
    'e2e/distributed/src/boundary-probe.ts',
    'targetVerdicts',
    '../../bench/src/bench-targets',
  ),
} satisfies Record<string, Sample>;

type SampleName = keyof typeof samples;

let messagesBySample: Record<SampleName, LintMessage[]>;
let dependencyConstraints: DependencyConstraint[];

beforeAll(() => {
  const names = Object.keys(samples) as SampleName[];
  const stdout = execFileSync(process.execPath, [path.join(__dirname, 'lint-texts.mjs')], {
    cwd: repoRoot,
    input: JSON.stringify(names.map((name) => samples[name])),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  const output = JSON.parse(lastLine) as {
    results: Array<{ filePath: string; messages: LintMessage[] }>;
    dependencyConstraints: DependencyConstraint[];
  };
  messagesBySample = Object.fromEntries(
    names.map((name, index) => [name, output.results[index]?.messages ?? []]),
  ) as Record<SampleName, LintMessage[]>;
  dependencyConstraints = output.dependencyConstraints;
});

function boundaryErrors(name: SampleName): string[] {
  return messagesBySample[name]
    .filter((m) => m.ruleId === BOUNDARY_RULE && m.severity === 2)
    .map((m) => m.message);
}

describe('module boundaries', () => {
  it('coordination importing kafkajs is a lint error', () => {
    expect(boundaryErrors('domainImportsKafkajs')).toEqual([
      expect.stringContaining('is not allowed to import "kafkajs"'),
    ]);
  });

  it('coordination importing fastify is a lint error', () => {
    expect(boundaryErrors('domainImportsFastify')).toEqual([
      expect.stringContaining('is not allowed to import "fastify"'),
    ]);
  });

  it('coordination importing a file of an app is a lint error', () => {
    expect(boundaryErrors('domainImportsApp')).toEqual([
      expect.stringContaining('cannot be imported by a relative or absolute path'),
    ]);
  });

  it('contracts importing coordination is a lint error', () => {
    // Once coordination imports contracts, the cycle check reports the same import first.
    const errors = boundaryErrors('contractsImportsDomain');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /"type:contracts" cannot depend on any libs with tags|Circular dependency between "contracts" and "coordination"/,
    );
  });

  it('contracts importing a database driver is a lint error', () => {
    expect(boundaryErrors('contractsImportsPostgres')).toEqual([
      expect.stringContaining('is not allowed to import "postgres"'),
    ]);
  });

  it('coordination importing contracts is allowed', () => {
    expect(boundaryErrors('domainImportsContracts')).toEqual([]);
  });

  it('an app importing kafkajs, contracts and coordination is allowed', () => {
    expect(boundaryErrors('appImportsLibsAndKafkajs')).toEqual([]);
  });
});

describe('test kit boundaries', () => {
  it('production code of an app importing the test kit is a lint error', () => {
    expect(boundaryErrors('appImportsTestKit')).toEqual([
      expect.stringContaining('"type:app" can only depend on libs tagged with'),
    ]);
  });

  it('production code of a lib importing the test kit is a lint error', () => {
    expect(boundaryErrors('domainImportsTestKit')).toEqual([
      expect.stringContaining('"type:domain" can only depend on libs tagged with'),
    ]);
  });

  it('test files of apps and libs may import the test kit', () => {
    expect(boundaryErrors('appTestImportsTestKit')).toEqual([]);
    expect(boundaryErrors('contractsTestImportsTestKit')).toEqual([]);
  });

  it("a lib's test entry (testing.ts) may import the test kit", () => {
    expect(boundaryErrors('domainTestEntryImportsTestKit')).toEqual([]);
  });

  it('any file of the e2e project may import the test kit', () => {
    expect(boundaryErrors('e2eImportsTestKit')).toEqual([]);
  });

  it('the test kit importing coordination is a lint error', () => {
    // Coordination's tests import the test kit, so the cycle check may report the same import first.
    const errors = boundaryErrors('testKitImportsDomain');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /"type:test-kit" cannot depend on any libs with tags|Circular dependency between "test-kit" and "coordination"/,
    );
  });
});

describe('workload library boundaries', () => {
  it('the event generator and the e2e project may import the workload library', () => {
    expect(boundaryErrors('generatorImportsWorkload')).toEqual([]);
    expect(boundaryErrors('e2eImportsWorkload')).toEqual([]);
  });

  it('the worker importing the workload library is a lint error', () => {
    expect(boundaryErrors('workerImportsWorkload')).toEqual([
      expect.stringContaining('"scope:worker" can only depend on libs tagged with'),
    ]);
  });

  it('the workload library importing coordination is a lint error', () => {
    expect(boundaryErrors('workloadImportsDomain')).toEqual([
      expect.stringContaining('"type:workload" can only depend on libs tagged with "type:contracts"'),
    ]);
  });

  it('production code of the workload library importing the test kit is a lint error', () => {
    expect(boundaryErrors('workloadImportsTestKit')).toEqual([
      expect.stringContaining('"type:workload" can only depend on libs tagged with "type:contracts"'),
    ]);
  });

  it('the e2e project importing a file of an app is a lint error', () => {
    expect(boundaryErrors('e2eImportsAppFile')).toEqual([
      expect.stringContaining('cannot be imported by a relative or absolute path'),
    ]);
  });
});

describe('e2e harness, suite and bench boundaries', () => {
  it.each([
    ['the suite may import the harness', 'suiteImportsHarness'],
    ['the bench may import the harness', 'benchImportsHarness'],
    ['the bench may import contracts, the test databases and the test kit', 'benchImportsLibs'],
    ['the harness may import contracts, the test kit and the workload library', 'harnessImportsLibs'],
  ] as const)('%s', (_description, name) => {
    expect(boundaryErrors(name)).toEqual([]);
  });

  it('the harness importing coordination is a lint error', () => {
    expect(boundaryErrors('harnessImportsDomain')).toEqual([
      expect.stringContaining('"type:e2e-harness" can only depend on libs tagged with'),
    ]);
  });

  it.each([
    ['the harness importing a file of the suite', 'harnessImportsSuiteFile'],
    ['the harness importing a file of the bench', 'harnessImportsBenchFile'],
    ['the bench importing a file of the suite', 'benchImportsSuiteFile'],
    ['the suite importing a file of the bench', 'suiteImportsBenchFile'],
  ] as const)('%s is a lint error', (_description, name) => {
    expect(boundaryErrors(name)).toEqual([
      expect.stringContaining('cannot be imported by a relative or absolute path'),
    ]);
  });

  it('the tags let the suite and the bench depend on the harness, neither on the other, and the harness on neither', () => {
    // The suite and the bench have no import path, so a relative import is all the probes above can try;
    // the tags say the same should either ever get one.
    const allowed = (tag: string) =>
      dependencyConstraints.find((c) => c.sourceTag === tag)?.onlyDependOnLibsWithTags ?? [];
    expect(allowed('type:e2e')).toContain('type:e2e-harness');
    expect(allowed('type:e2e-bench')).toContain('type:e2e-harness');
    expect(allowed('type:e2e')).not.toContain('type:e2e-bench');
    expect(allowed('type:e2e-bench')).not.toContain('type:e2e');
    expect(allowed('type:e2e-harness')).not.toContain('type:e2e');
    expect(allowed('type:e2e-harness')).not.toContain('type:e2e-bench');
  });
});

describe('dependency constraints', () => {
  const projectTags = (): Array<{ project: string; tags: string[] }> => {
    const roots = ['apps', 'libs', 'e2e', 'tools'].flatMap((dir) =>
      fs.existsSync(path.join(repoRoot, dir))
        ? fs.readdirSync(path.join(repoRoot, dir)).map((name) => path.join(repoRoot, dir, name))
        : [],
    );
    return roots
      .filter((root) => fs.existsSync(path.join(root, 'project.json')))
      .map((root) => {
        const project = JSON.parse(fs.readFileSync(path.join(root, 'project.json'), 'utf8')) as {
          name: string;
          tags?: string[];
        };
        return { project: project.name, tags: project.tags ?? [] };
      });
  };

  it('have no catch-all tag', () => {
    const tags = dependencyConstraints.flatMap((c) => [c.sourceTag, ...(c.onlyDependOnLibsWithTags ?? [])]);
    expect(tags).not.toContain('*');
  });

  it('constrain every project by both a type tag and a scope tag', () => {
    const constrained = new Set(dependencyConstraints.map((c) => c.sourceTag));
    const unconstrained = projectTags().filter(
      ({ tags }) =>
        !tags.some((t) => t.startsWith('type:') && constrained.has(t)) ||
        !tags.some((t) => t.startsWith('scope:') && constrained.has(t)),
    );
    expect(unconstrained).toEqual([]);
  });
});
