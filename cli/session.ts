// The Temporal connection of one command, and the JobTracker over it.
import { Client, type Connection } from '@temporalio/client';
import { connectTemporalLazily, temporalConnection } from '../client/connection.js';
import { PodmanTracker } from '../client/tracker.js';
import { dataConverterFromEnv } from '../common/data-converter.js';
import { atExit, watchConnection, type Globals } from './output.js';

let connection: Connection | undefined;

export function tracker(g: Globals): PodmanTracker {
  const t = temporalConnection(g);
  if (!connection) {
    // Opened by the first call; a refusal (no server, TLS, API key) ends the command (cli/main.ts).
    const lazy = connectTemporalLazily(t);
    watchConnection(lazy.checked);
    connection = lazy.connection;
    const made = connection;
    atExit(() => made.close());
  }
  return new PodmanTracker({
    client: new Client({ connection, namespace: t.namespace, dataConverter: dataConverterFromEnv() }),
    session: g.session,
    taskQueue: g.taskQueue,
  });
}
