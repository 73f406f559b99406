// A worker and a tracker on their own task queue and session, against the stack's real services.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { PodmanTracker } from '../../client/tracker.js';
import { dataConverterFor } from '../../common/data-converter.js';
import { createWorker, type PodmanTrackerWorker, type WorkerConfig } from '../../worker/worker.js';
import { removeSession, requireEnv, stack, uniqueSession } from '../helpers.js';

export interface TrackerFixture {
  session: string;
  taskQueue: string;
  tracker: PodmanTracker;
  client: Client;
  worker: PodmanTrackerWorker;
  /** Stops the worker (its activities given their grace); the client stays connected. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startTracker(prefix: string, overrides: Partial<WorkerConfig> = {}): Promise<TrackerFixture> {
  const session = uniqueSession(prefix);
  const taskQueue = `test-${session}`;
  const address = requireEnv('TEMPORAL_ADDRESS');
  const native = await NativeConnection.connect({ address });
  const worker = await createWorker(
    {
      podmanUri: stack.containerHost,
      temporal: { address, namespace: 'default' },
      taskQueue,
      disableImagePull: false,
      shutdownGraceMs: 1000,
      ...overrides,
    },
    native,
  );
  const running = worker.run();
  const connection = await Connection.connect({ address });
  // The client shares the worker's encryption keys, as a deployment's clients must.
  const client = new Client({ connection, dataConverter: dataConverterFor(overrides.encryptionKeys) });
  const tracker = new PodmanTracker({ client, session, taskQueue });
  let closed: Promise<void> | undefined;
  const stopWorker = async () => {
    worker.shutdown();
    await running;
  };
  return {
    session,
    taskQueue,
    tracker,
    client,
    worker,
    stopWorker,
    // Once, however often it is called: a test may stop its worker before its cleanup does.
    close: () =>
      (closed ??= (async () => {
        await stopWorker();
        await native.close();
        await connection.close();
        await removeSession(session);
      })()),
  };
}

/** The container of a job that has one (a job that has been running). */
export async function containerOf(tracker: PodmanTracker, jobId: string): Promise<string> {
  const id = (await tracker.jobInfo(jobId)).extension?.extensionList.containerId;
  if (!id) throw new Error(`job ${jobId} has no container`);
  return id;
}

/** Retries an assertion on something eventually consistent (Temporal's visibility) for a while. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
