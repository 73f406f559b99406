// `make demo`: a worker and a client against the local stack, one job run end to end.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PodmanTracker } from '../client/tracker.js';
import { configFromEnv, createWorker } from '../worker/worker.js';

Runtime.install({ logger: new DefaultLogger('WARN') });
const config = { ...configFromEnv(), taskQueue: 'podman-tracker-demo' };
const image = process.env.PODMAN_TRACKER_TEST_IMAGE ?? 'localhost/podman-tracker/busybox:latest';

const worker = await createWorker(config);
const running = worker.run();
const connection = await Connection.connect({ address: config.temporalAddress });
const tracker = new PodmanTracker({
  client: new Client({ connection, namespace: config.namespace }),
  session: 'demo',
  taskQueue: config.taskQueue,
});

console.log(`Podman: ${config.podmanUri}\nTemporal: ${config.temporalAddress} (namespace ${config.namespace})\n`);
const id = await tracker.addJob({
  jobCategory: image,
  remoteCommand: 'sh',
  args: [
    '-c',
    'echo "hello from $(hostname), job step $STEP"; for i in 1 2 3; do echo "working $i"; sleep 1; done; echo "a warning" >&2',
  ],
  jobEnvironment: { STEP: '1' },
  candidateMachines: ['demo-node'],
});
console.log(`submitted job ${id}`);
await tracker.wait(id, 30_000, ['running']);
console.log(`state: ${(await tracker.jobState(id)).state}`);
console.log(`suspend -> ${(await tracker.jobControl(id, 'suspend')).state}`);
await new Promise((r) => setTimeout(r, 1000));
console.log(`resume  -> ${(await tracker.jobControl(id, 'resume')).state}`);
const { info, stdout, stderr } = await tracker.result(id);

const indent = (text: string) => text.replace(/\n$/, '').replace(/^/gm, '  | ');
console.log(`\nstdout:\n${indent(stdout)}\nstderr:\n${indent(stderr)}`);
console.table([
  {
    job: id,
    state: info.state,
    exitStatus: info.exitStatus,
    'wallclock (ms)': info.wallclockTime,
    machine: info.allocatedMachines?.join(','),
    container: info.extension?.extensionList.containerName,
  },
]);
console.log(
  `\nLook next: the workflow in Temporal: temporal workflow show --address ${config.temporalAddress} -w ${id}`,
);
console.log('Stop everything: scripts/stack down');

worker.shutdown();
await running;
await connection.close();
