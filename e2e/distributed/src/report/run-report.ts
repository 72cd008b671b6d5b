import fs from 'node:fs';
import path from 'node:path';
import type { LatencyPoint } from '../checker/run-checker';
import type { ProgressWindow } from '../checker/progress-check';
import type { ScenarioMeasurements, ThresholdResult } from '../checker/thresholds';
import { mutantsReportDir, type ReplicaThrottling, type StatusApiLoad } from '@els/harness';
import type { ScheduledFault } from '../nemesis/fault-schedule';
import type { FaultWindow } from '../history/fault-window';
import { readMutantsReport } from './mutants-report';
import { renderReportHtml } from './report-html';

/** One scenario in dist/reports/distributed/report.json. */
export interface ScenarioReport {
  id: number;
  name: string;
  passed: boolean;
  pids: number[];
  /** The replicas' containers (`name id`), under the Compose driver. */
  containers?: string[];
  sent: number;
  assigned: number;
  excess: number;
  deadLetters: number;
  lost: string[];
  duplicated: string[];
  unexpected: string[];
  completionsPerBatch: Record<string, number>;
  throughputPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  notes: string[];
  completionLatencyMs?: { p50: number; p95: number; p99: number; max: number };
  falseExcess?: string[];
  /** Texts sent in more than one attempt (an indeterminate failure first) that took effect once. */
  recovered?: string[];
  /** Slots assigned per replica, from each slot-assigned record's origin header. */
  assignedByReplica?: Record<string, number>;
  /**
   * The checker's other sets by name (false excess, completion, dead-letter, assignment, excess,
   * validation-failure and event-id errors); each is empty in a correct run.
   */
  checks?: Record<string, string[]>;
  /** The merged, time-ordered replica logs of the scenario's runs, relative to the report directory. */
  logs?: string[];
  /** What made the scenario fail, by name (only the non-empty lists); absent or empty when it passed. */
  problems?: Record<string, string[]>;
  faults?: FaultWindow[];
  /**
   * Per fault window, the longest time the replicas outside the fault went without progress while work
   * they could take waited (`stallMs`), its bound, and whether it was judged (checker/progress-check.ts).
   */
  progress?: ProgressWindow[];
  /** Scenario 7: each running replica's resident set size, sampled during the load. */
  rssSeries?: Array<{ replica: string; atMs: number; bytes: number }>;
  /** Scenario 7: the fault schedule drawn from the seed. */
  schedule?: ScheduledFault[];
  latencySeries?: LatencyPoint[];
  /** What the thresholds judge, as measured (a scenario's thresholds judge some of them). */
  measurements?: ScenarioMeasurements;
  /** The thresholds this scenario judges, each with its limit, measured value and verdict. */
  thresholds?: ThresholdResult[];
  /** Scenario 3 only: autocannon against the status API through nginx in front of the replicas. */
  statusApiLoad?: StatusApiLoad;
  /** Scenario 6 only. */
  scale3?: number;
  scale5?: number;
  throughputByReplicas?: Record<string, number>;
  rssByBatchSize?: Record<string, number>;
  /** Scenario 6 with E2E_REPLICA_CPU: the cap, and per run (1, 3, 5 replicas) each replica's throttling. */
  replicaCpus?: number;
  cpuThrottling?: ReplicaThrottling[][];
}

export interface RunReport {
  startedAt: string;
  /** E2E_SEED of the run: the same seed replays the same workloads and fault schedule. */
  seed?: number;
  /** The worker bundle the replicas ran (`E2E_WORKER_ENTRY`, or the build). */
  workerEntry?: string;
  durationMs: number;
  instances: number;
  profile: string;
  /** How the replicas ran: `process` (processes of this machine) or `compose` (containers). */
  driver?: string;
  scenarios: ScenarioReport[];
}

/** Keeps the report of a run and rewrites report.json and report.html after every scenario. */
export function createRunReport(options: {
  dir: string;
  instances: number;
  profile: string;
  seed: number;
  workerEntry: string;
  driver?: string;
}) {
  const startedAtMs = Date.now();
  const scenarios: ScenarioReport[] = [];
  const jsonPath = path.join(options.dir, 'report.json');
  const htmlPath = path.join(options.dir, 'report.html');
  const snapshot = (): RunReport => ({
    startedAt: new Date(startedAtMs).toISOString(),
    seed: options.seed,
    workerEntry: options.workerEntry,
    durationMs: Date.now() - startedAtMs,
    instances: options.instances,
    profile: options.profile,
    ...(options.driver ? { driver: options.driver } : {}),
    scenarios: [...scenarios].sort((a, b) => a.id - b.id),
  });
  const write = () => {
    fs.mkdirSync(options.dir, { recursive: true });
    const report = snapshot();
    // The latency series is for the plots; the JSON keeps at most 2,000 points per scenario.
    const compact = {
      ...report,
      scenarios: report.scenarios.map((s) => ({ ...s, latencySeries: thin(s.latencySeries ?? [], 2000) })),
    };
    fs.writeFileSync(jsonPath, JSON.stringify(compact, null, 2) + '\n');
    fs.writeFileSync(htmlPath, renderReportHtml(compact, readMutantsReport(mutantsReportDir)));
  };
  return {
    jsonPath,
    htmlPath,
    add(scenario: ScenarioReport) {
      const existing = scenarios.findIndex((s) => s.id === scenario.id);
      if (existing >= 0) scenarios.splice(existing, 1);
      scenarios.push(scenario);
      write();
    },
    write,
    snapshot,
  };
}

function thin<T>(points: readonly T[], most: number): T[] {
  if (points.length <= most) return [...points];
  const step = points.length / most;
  return Array.from({ length: most }, (_, i) => points[Math.floor(i * step)] as T);
}

/** Renders a run's report.html again from its report.json (after the mutation self-test has written its table). */
export function rerenderRunReport(dir: string): boolean {
  try {
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as RunReport;
    fs.writeFileSync(
      path.join(dir, 'report.html'),
      renderReportHtml(report, readMutantsReport(mutantsReportDir)),
    );
    return true;
  } catch {
    return false;
  }
}
