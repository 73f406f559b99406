// The app's workflows file: its own workflows, and podman-tracker's re-exported beside them.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { jobWorkflow } from 'podman-tracker/workflows';
export * from 'podman-tracker/workflows';

/** A pipeline step that is a container: durable, retried by Temporal, its stdout the step's value. */
export async function greet(name: string, image: string): Promise<string> {
  const jobId = `${workflowInfo().workflowId}.greet`;
  const { info, stdout } = await executeChild(jobWorkflow, {
    workflowId: jobId,
    args: [
      { jobId, session: 'default', template: { jobCategory: image, remoteCommand: 'echo', args: [`hello ${name}`] } },
    ],
  });
  if (info.exitStatus !== 0) throw new Error(`greet: the container ended ${info.state} (${info.exitStatus})`);
  return stdout.trim();
}
