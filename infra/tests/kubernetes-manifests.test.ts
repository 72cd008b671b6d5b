import fs from 'node:fs';
import path from 'node:path';
import { infraDir, readYaml, readYamlDocuments, workerConfigKeys } from './infra-files';

/** Structural checks: no Kubernetes API server or downloaded schemas are needed. */

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are walked structurally below
type Loose = any;

const k8sDir = path.join(infraDir, 'k8s');
const kustomization = readYaml<{ resources: string[] }>(path.join(k8sDir, 'kustomization.yaml'));
const manifests = kustomization.resources.flatMap(
  (file) => readYamlDocuments(path.join(k8sDir, file)) as Manifest[],
);
const find = (kind: string, name?: string): Loose =>
  manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));

const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  Job: 'batch/v1',
  PodDisruptionBudget: 'policy/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
};

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('infra/k8s', () => {
  const deployment = find('Deployment', 'els-worker');
  const pod = deployment?.spec.template;
  const container = pod?.spec.containers[0];
  const config = find('ConfigMap');

  it('lists every manifest file in kustomization.yaml, each with a known apiVersion, kind and name', () => {
    const files = fs.readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    for (const manifest of manifests) {
      expect({ kind: manifest.kind, apiVersion: manifest.apiVersion }).toEqual({
        kind: manifest.kind,
        apiVersion: API_VERSIONS[manifest.kind],
      });
      expect(manifest.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(Object.keys(API_VERSIONS).filter((kind) => !find(kind))).toEqual([]);
  });

  it('selects its own pods from the Deployment, Service and PodDisruptionBudget', () => {
    const labels = pod.metadata.labels;
    expect(matches(deployment.spec.selector.matchLabels, labels)).toBe(true);
    expect(matches(find('Service').spec.selector, labels)).toBe(true);
    expect(matches(find('PodDisruptionBudget').spec.selector.matchLabels, labels)).toBe(true);
  });

  it('probes readiness on /readyz and liveness on /healthz at the HTTP port', () => {
    const port = container.ports.find((p: Loose) => p.name === 'http');
    expect(String(port.containerPort)).toBe(config.data.ELS_HTTP_PORT);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.args).toEqual(['start']);
  });

  it('gives the worker more time to stop than preStop plus ELS_SHUTDOWN_GRACE_MS', () => {
    const preStopCommand: string[] = container.lifecycle.preStop.exec.command;
    expect(preStopCommand[0]).toBe('sleep');
    const preStopMs = Number(preStopCommand[1]) * 1000;
    expect(preStopMs).toBeGreaterThan(0);
    const graceMs = Number(config.data.ELS_SHUTDOWN_GRACE_MS);
    expect(graceMs).toBeGreaterThan(0);
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + graceMs);
  });

  it('runs as non-root, and the migrate Job runs the same image with `migrate`', () => {
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    const job = find('Job');
    const jobContainer = job.spec.template.spec.containers[0];
    expect(jobContainer.image).toBe(container.image);
    expect(jobContainer.args).toEqual(['migrate']);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('uses only configuration keys of the worker schema, and every required one', () => {
    const keys = workerConfigKeys();
    const secret = find('Secret');
    const names = [
      ...Object.keys(config.data),
      ...Object.keys(secret.stringData),
      ...container.env.map((e: Loose) => e.name),
    ];
    expect(names.filter((name) => !keys.includes(name))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['ELS_DATABASE_URL', 'ELS_REDIS_URL', 'ELS_KAFKA_BROKERS']));
    const refs = container.envFrom.map((e: Loose) => e.configMapRef?.name ?? e.secretRef?.name);
    expect(refs.sort()).toEqual([config.metadata.name, secret.metadata.name].sort());
  });

  it('scales the Deployment between a floor the budget allows and the input partition count', () => {
    const hpa = find('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'els-worker',
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeLessThanOrEqual(Number(config.data.ELS_INPUT_TOPIC_PARTITIONS));
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(find('PodDisruptionBudget').spec.maxUnavailable).toBeLessThan(hpa.spec.minReplicas);
  });
});
