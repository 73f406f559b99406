// After the suite: replays every workflow history the run produced (every workflow started since
// PODMAN_TRACKER_REPLAY_SINCE, continued-as-new runs included) against the workflow code of now.
// Any nondeterminism fails `make test`, whichever test made the history. `make test` runs this.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { recordedRuns, replayRuns, type RecordedRun } from './histories.js';
import { requireEnv } from './helpers.js';

// The failures are reported below, one line each; the replayer's own warnings would repeat them.
Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
});
const since = requireEnv('PODMAN_TRACKER_REPLAY_SINCE');
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/** Tests that run workflows of their own, by task queue; every other run is podman-tracker's own. */
const OWN_WORKFLOWS: [RegExp, string][] = [
  [/^test-scale-/, source('./fixtures/scale-workflows.ts')],
  [/^test-pipeline-|^podman-tracker-pipeline$/, source('../examples/pipeline/workflows.ts')],
  [/^test-runahead-min-/, source('./fixtures/run-ahead/workflows.ts')],
  [/^test-consumer-/, source('../examples/consumer/src/workflows.ts')],
];

const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
const client = new Client({ connection });
const started = Date.now();
const runs = await recordedRuns(client, `StartTime >= '${since}'`);
/** Histories that a test writes without podman-tracker's workflow interceptors, to show the SDK
 * defect they work around: they must not replay, and run-ahead.test.ts asserts that they do not. */
const UNGUARDED = /^test-runahead-unguarded-/;
const groups = new Map<string | undefined, RecordedRun[]>();
for (const r of runs) {
  if (UNGUARDED.test(r.taskQueue)) continue;
  const path = OWN_WORKFLOWS.find(([queue]) => queue.test(r.taskQueue))?.[1];
  groups.set(path, [...(groups.get(path) ?? []), r]);
}
const failures = [];
for (const [path, group] of groups) failures.push(...(await replayRuns(group, path)));
await connection.close();

const types = new Set(runs.map((r) => r.type));
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length) {
  console.error(`replay: ${failures.length} of ${runs.length} histories do not replay against the code of now:`);
  for (const f of failures.slice(0, 20)) console.error(`  ${f.workflowId} (run ${f.runId}): ${f.error}`);
  process.exit(1);
}
console.log(`replay: all ${runs.length} histories since ${since} replay (${types.size} workflow types, ${seconds} s)`);
