// Starts the word-length pipeline: a worker that hosts it (and podman-tracker's workflows), then
// the pipeline itself. `eval "$(scripts/stack env)"; node --import tsx examples/pipeline/run.ts "some words"`
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverterFromEnv } from '../../common/data-converter.js';
import { allowMountsIn, NO_POWERS } from '../../common/powers.js';
import { configFromEnv, createWorker } from '../../worker/worker.js';
import { wordLengthPipeline } from './workflows.js';

Runtime.install({ logger: new DefaultLogger('WARN') });
const sentence = process.argv[2] ?? 'durable jobs in containers';
const base = configFromEnv();
const workDir = await mkdtemp(join(tmpdir(), 'pipeline-'));
// Step 3 stages in the files step 2 leaves in workDir: this worker may mount that folder (and no other).
const config = {
  ...base,
  taskQueue: 'podman-tracker-pipeline',
  powers: allowMountsIn(base.powers ?? NO_POWERS, workDir),
};
const native = await NativeConnection.connect({ address: config.temporal.address });
const worker = await createWorker(
  { ...config, workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)) },
  native,
);
const running = worker.run();
const connection = await Connection.connect({ address: config.temporal.address });
try {
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFromEnv(),
  });
  const result = await client.workflow.execute(wordLengthPipeline, {
    workflowId: `pipeline-${Date.now()}`,
    taskQueue: config.taskQueue,
    args: [
      {
        image: process.env.PODMAN_TRACKER_TEST_IMAGE ?? 'localhost/podman-tracker/busybox:latest',
        sentence,
        workDir,
      },
    ],
  });
  console.log(JSON.stringify(result));
} finally {
  worker.shutdown();
  await running;
  await connection.close();
  await native.close();
}
