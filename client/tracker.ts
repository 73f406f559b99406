// The DRMAA2 JobTracker over the Temporal client: one job, one workflow, its ID the job ID.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { toContainerRequest } from '../common/convert.js';
import { DrmaaError, jobNotExists } from '../common/errors.js';
import type { JobControlAction, JobState } from '../common/states.js';
import { parseJobTemplate, type JobInfo, type JobTemplate, type JobTemplateInput } from '../common/template.js';
import {
  jobControlUpdate,
  jobInfoQuery,
  jobStateQuery,
  jobTemplateQuery,
  jobWorkflow,
  waitUpdate,
  type JobStatusView,
  type JobWorkflowResult,
} from '../workflows/job.js';

export interface PodmanTrackerOptions {
  client: Client;
  session?: string;
  taskQueue?: string;
}

/** Host paths in a template are the submitter's: make them absolute where they were written. */
function absolutePaths(t: JobTemplate, cwd = process.cwd()): JobTemplate {
  const abs = (p: string | undefined) => (p ? resolve(cwd, p) : p);
  return {
    ...t,
    inputPath: abs(t.inputPath),
    outputPath: abs(t.outputPath),
    errorPath: abs(t.errorPath),
    stageInFiles: t.stageInFiles
      ? Object.fromEntries(Object.entries(t.stageInFiles).map(([h, c]) => [resolve(cwd, h), c]))
      : undefined,
  };
}

export class PodmanTracker {
  readonly session: string;
  readonly taskQueue: string;
  private readonly client: Client;

  constructor(opts: PodmanTrackerOptions) {
    this.client = opts.client;
    this.session = opts.session ?? 'default';
    this.taskQueue = opts.taskQueue ?? 'podman-tracker';
  }

  /** Validates the template (nothing starts when it is bad) and starts the job's workflow. */
  async addJob(input: JobTemplateInput): Promise<string> {
    const template = absolutePaths(parseJobTemplate(input));
    const jobId = `${this.session}.${randomUUID()}`;
    toContainerRequest(template, { jobId, session: this.session }); // the same checks the worker makes
    await this.client.workflow.start(jobWorkflow, {
      workflowId: jobId,
      taskQueue: this.taskQueue,
      args: [
        {
          jobId,
          session: this.session,
          template,
          owner: userInfo().username,
          submissionMachine: hostname(),
          submissionTime: new Date().toISOString(),
        },
      ],
    });
    return jobId;
  }

  private handle(jobId: string): WorkflowHandle<typeof jobWorkflow> {
    return this.client.workflow.getHandle<typeof jobWorkflow>(jobId);
  }

  private async call<T>(jobId: string, fn: (h: WorkflowHandle<typeof jobWorkflow>) => Promise<T>): Promise<T> {
    try {
      return await fn(this.handle(jobId));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw jobNotExists(jobId);
      throw DrmaaError.find(err) ?? err;
    }
  }

  jobState(jobId: string): Promise<JobStatusView> {
    return this.call(jobId, (h) => h.query(jobStateQuery));
  }

  jobInfo(jobId: string): Promise<JobInfo> {
    return this.call(jobId, (h) => h.query(jobInfoQuery));
  }

  jobTemplate(jobId: string): Promise<JobTemplate> {
    return this.call(jobId, (h) => h.query(jobTemplateQuery));
  }

  jobControl(jobId: string, action: JobControlAction): Promise<JobStatusView> {
    return this.call(jobId, (h) => h.executeUpdate(jobControlUpdate, { args: [action] }));
  }

  /** Waits for one of the states (default: an end state); `timeoutMs` 0 checks once. */
  wait(jobId: string, timeoutMs: number | null = null, states: JobState[] = ['done', 'failed']): Promise<JobStatusView> {
    return this.call(jobId, async (h) => {
      const now = await h.query(jobStateQuery);
      if (states.includes(now.state)) return now;
      if (timeoutMs === 0) throw new DrmaaError('Timeout', `job ${jobId} is ${now.state}, not ${states.join(' or ')}`);
      return h.executeUpdate(waitUpdate, { args: [states, timeoutMs] });
    });
  }

  /** The job's final JobInfo and output, once it has ended. */
  result(jobId: string): Promise<JobWorkflowResult> {
    return this.call(jobId, (h) => h.result());
  }
}
