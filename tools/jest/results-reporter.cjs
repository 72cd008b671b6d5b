// Writes jest's aggregated results (the same structure as `jest --json`) to
// dist/test-results/<project>.json so a CI step can count passed and failed tests across projects.
const fs = require('node:fs');
const path = require('node:path');

class ResultsReporter {
  constructor(globalConfig, options = {}) {
    this.globalConfig = globalConfig;
    this.name = options.name;
  }

  onRunComplete(_contexts, results) {
    const root = path.resolve(__dirname, '..', '..');
    const name = this.name ?? (path.basename(this.globalConfig.rootDir) || 'root');
    const dir = path.join(root, 'dist', 'test-results');
    fs.mkdirSync(dir, { recursive: true });
    const { numPassedTests, numFailedTests, numTotalTests, numRuntimeErrorTestSuites, testResults } = results;
    const summary = {
      project: name,

      numPassedTests,
      numFailedTests,
      numTotalTests,
      numRuntimeErrorTestSuites,
      testResults: testResults.map((r) => ({
        name: path.relative(root, r.testFilePath),
        failureMessage: r.failureMessage ?? null,
        assertionResults: r.testResults.map((a) => ({ fullName: a.fullName, status: a.status })),
      })),
    };
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(summary, null, 2));
  }
}

module.exports = ResultsReporter;
