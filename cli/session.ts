// The Temporal connection of one command, and the JobTracker over it.
import { Client, type Connection } from '@temporalio/client';
import { connectTemporal, temporalConnection } from '../client/connection.js';
import { PodmanTracker } from '../client/tracker.js';
import { dataConverterFromEnv } from '../common/data-converter.js';
import { atExit, type Globals } from './output.js';

let connection: Promise<Connection> | undefined;

export async function tracker(g: Globals): Promise<PodmanTracker> {
  const t = temporalConnection(g);
  if (!connection) {
    connection = connectTemporal(t);
    const made = connection;
    atExit(async () => (await made).close());
  }
  return new PodmanTracker({
    client: new Client({ connection: await connection, namespace: t.namespace, dataConverter: dataConverterFromEnv() }),
    session: g.session,
    taskQueue: g.taskQueue,
  });
}
