// A user's pipeline: three container steps, each consuming the previous step's output, made
// durable by Temporal. Each step is a podman-tracker job run as a child workflow.
//   1. a job lists words on its stdout;
//   2. an array job, one task per word, writes each word's length to a file of its own;
//   3. a job reads those files (staged in) and adds the lengths up.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { arrayJobWorkflow, jobWorkflow } from '../../workflows/index.js';

// The worker that runs this pipeline hosts podman-tracker's workflows too.
export * from '../../workflows/index.js';

export interface PipelineInput {
  image: string;
  sentence: string;
  /** A folder on the worker's host where step 2 leaves its files for step 3. */
  workDir: string;
}

export interface PipelineResult {
  words: string[];
  lengths: number[];
  total: number;
}

export async function wordLengthPipeline(input: PipelineInput): Promise<PipelineResult> {
  const id = workflowInfo().workflowId;
  const session = 'pipeline';
  const step = (name: string) => `${id}.${name}`;

  const listed = await executeChild(jobWorkflow, {
    workflowId: step('words'),
    args: [
      {
        jobId: step('words'),
        session,
        template: { jobCategory: input.image, remoteCommand: 'sh', args: ['-c', 'for w in $SENTENCE; do echo $w; done'], jobEnvironment: { SENTENCE: input.sentence } },
      },
    ],
  }); // prettier-ignore
  if (listed.info.state !== 'done') throw new Error(`step 1 failed: ${listed.stderr}`);
  const words = listed.stdout.split('\n').filter(Boolean);

  const lengths = await executeChild(arrayJobWorkflow, {
    workflowId: step('lengths'),
    args: [
      {
        arrayJobId: step('lengths'),
        session,
        begin: 1,
        end: words.length,
        step: 1,
        maxParallel: 2,
        template: {
          jobCategory: input.image,
          remoteCommand: 'sh',
          // The task picks its own word by TASK_ID.
          args: ['-c', 'set -- $WORDS; eval w=\\${$TASK_ID}; echo ${#w}'],
          jobEnvironment: { WORDS: words.join(' ') },
          outputPath: `${input.workDir}/length-$DRMAA2_INDEX$.txt`,
        },
      },
    ],
  });
  if (lengths.failed.length) throw new Error(`step 2 failed for tasks ${lengths.failed.join(', ')}`);

  const summed = await executeChild(jobWorkflow, {
    workflowId: step('sum'),
    args: [
      {
        jobId: step('sum'),
        session,
        template: {
          jobCategory: input.image,
          remoteCommand: 'sh',
          args: ['-c', 'for i in $(seq 1 $N); do cat /work/length-$i.txt; done; cat /work/length-*.txt | awk "{ s += \\$1 } END { print s }" >&2'],
          jobEnvironment: { N: String(words.length) },
          stageInFiles: { [input.workDir]: '/work' },
        },
      },
    ],
  }); // prettier-ignore
  if (summed.info.state !== 'done') throw new Error(`step 3 failed: ${summed.stderr}`);
  return {
    words,
    lengths: summed.stdout.split('\n').filter(Boolean).map(Number),
    total: Number(summed.stderr.trim()),
  };
}
