// The app's client: a workflow of its own that runs a container, and a DRMAA2 job by PodmanTracker.
import { connectClient, PodmanTracker, PodmanTrackerPlugin } from 'podman-tracker';
import { greet } from './workflows.js';

const image = process.env.IMAGE ?? 'docker.io/library/busybox:latest';
const taskQueue = process.env.TASK_QUEUE ?? 'greetings';
const client = await connectClient({}, { plugins: [new PodmanTrackerPlugin()] });
try {
  const greeting = await client.workflow.execute(greet, {
    taskQueue,
    workflowId: `greet-${Date.now()}`,
    args: ['world', image],
  });
  console.log(greeting); // hello world

  const tracker = new PodmanTracker({ client, taskQueue });
  const job = await tracker.addJob({ jobCategory: image, remoteCommand: 'sh', args: ['-c', 'exit 3'] });
  const { state } = await tracker.wait(job, 60_000, ['done', 'failed']);
  console.log(job, state, (await tracker.jobInfo(job)).exitStatus); // <job ID> failed 3
} finally {
  await client.connection.close();
}
