// The app's worker: its workflows and podman-tracker's, and the Podman activities from the plugin.
import { fileURLToPath } from 'node:url';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, Worker } from '@temporalio/worker';
import { PodmanTrackerPlugin } from 'podman-tracker';

const config = loadClientConnectConfig(); // TEMPORAL_ADDRESS, TEMPORAL_API_KEY, TEMPORAL_TLS_*, profiles
const worker = await Worker.create({
  connection: await NativeConnection.connect(config.connectionOptions),
  namespace: config.namespace,
  taskQueue: process.env.TASK_QUEUE ?? 'greetings',
  workflowsPath: fileURLToPath(new URL('./workflows.js', import.meta.url)),
  // Podman at CONTAINER_HOST (or the local socket); no host powers unless granted here.
  plugins: [new PodmanTrackerPlugin({ podman: process.env.CONTAINER_HOST })],
});
await worker.run(); // until SIGINT or SIGTERM
