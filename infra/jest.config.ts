// Validation of the deployment files (Dockerfile, Compose, nginx, Prometheus, Grafana, Kubernetes).
// Only infra/tests: infra/local is the local stack's scripts, not tests.
export default {
  displayName: 'infra',
  preset: '../jest.preset.cjs',
  rootDir: '.',
  roots: ['<rootDir>/tests'],
  testTimeout: 60_000,
};
