// Temporal's advice for replay testing, applied to what a test run produced: fetch the histories of
// the workflows and replay them against the workflow code of now. Any nondeterminism is a failure,
// wherever it came from. Also: which histories have a failed workflow task.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataConverterFor } from '../common/data-converter.js';
import { parseKeys } from '../common/encryption.js';
import { bundleOptions } from '../worker/workflow-code.js';
import { requireEnv } from './helpers.js';

type History = temporal.api.history.v1.IHistory;

export interface RecordedRun {
  workflowId: string;
  runId: string;
  type: string;
  taskQueue: string;
  history: History;
}

const ownWorkflows = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/** The bundle of a workflows file (podman-tracker's own by default), made once per process. */
export function bundleFor(workflowsPath?: string): Promise<WorkflowBundleWithSourceMap> {
  const key = workflowsPath ?? '';
  let b = bundles.get(key);
  if (!b) {
    b = bundleWorkflowCode({
      ...bundleOptions(workflowsPath),
      logger: new DefaultLogger('ERROR'),
      // An app's workflows file (examples/consumer) imports the package by name: here, this checkout.
      webpackConfigHook: (config) => ({
        ...config,
        resolve: { ...config.resolve, alias: { ...config.resolve?.alias, 'podman-tracker/workflows$': ownWorkflows } },
      }),
    });
    bundles.set(key, b);
  }
  return b;
}

/** Every run (continued-as-new runs too) that a visibility query lists, with its whole history. */
export async function recordedRuns(client: Client, query: string): Promise<RecordedRun[]> {
  const runs: RecordedRun[] = [];
  for await (const w of client.workflow.list({ query })) {
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    runs.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, taskQueue: w.taskQueue, history });
  }
  return runs;
}

export interface ReplayFailure {
  workflowId: string;
  runId: string;
  error: string;
}

const keysFile = () => join(requireEnv('PODMAN_TRACKER_STACK_DIR'), 'test-encryption-keys');

/** A test's encryption key, kept (in the stack's folder) so that its jobs' histories can be replayed. */
export function recordReplayKey(base64: string): void {
  appendFileSync(keysFile(), `${base64}\n`);
}

/** Replays the runs against a bundle; the runs that do not replay, with why. */
export async function replayRuns(runs: RecordedRun[], workflowsPath?: string): Promise<ReplayFailure[]> {
  if (!runs.length) return [];
  const workflowBundle = await bundleFor(workflowsPath);
  const keys = existsSync(keysFile()) ? parseKeys(readFileSync(keysFile(), 'utf8'), keysFile()) : [];
  const failures: ReplayFailure[] = [];
  const histories = runs.map((r) => ({ workflowId: r.workflowId, history: r.history }));
  const options = { workflowBundle, replayName: 'replay-check', dataConverter: dataConverterFor(keys) };
  for await (const result of Worker.runReplayHistories(options, histories)) {
    if (result.error) {
      // The SDK wraps the reason (its message: "...") in the activation's completion: show just that.
      const text = String(result.error);
      const error = /message: "((?:[^"\\]|\\.)*)"/.exec(text)?.[1] ?? text.slice(0, 300);
      failures.push({ workflowId: result.workflowId, runId: result.runId, error });
    }
  }
  return failures;
}

/** Runs whose history has a workflow task that failed (a nondeterminism error, a bug in the workflow). */
export function failedWorkflowTasks(runs: RecordedRun[]): { workflowId: string; cause: string }[] {
  const out: { workflowId: string; cause: string }[] = [];
  for (const r of runs) {
    for (const e of r.history.events ?? []) {
      const a = e.workflowTaskFailedEventAttributes;
      if (a) out.push({ workflowId: r.workflowId, cause: `${String(a.cause)}: ${a.failure?.message ?? ''}` });
    }
  }
  return out;
}
