// A user's workflow that runs container steps in a row as child workflows, each step using the
// previous one's output (examples/pipeline).
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowMountsIn, NO_POWERS } from '../../common/powers.js';
import { wordLengthPipeline } from '../../examples/pipeline/workflows.js';
import { stack } from '../helpers.js';
import { startTracker, type TrackerFixture } from './fixtures.js';

let f: TrackerFixture;
let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pt-pipeline-'));
  f = await startTracker('pipeline', {
    workflowsPath: fileURLToPath(new URL('../../examples/pipeline/workflows.ts', import.meta.url)),
    // Step 3 stages in step 2's files: the worker mounts that folder and nothing else.
    powers: allowMountsIn(NO_POWERS, workDir),
  });
});
afterAll(() => f?.close());

it('runs three container steps through executeChild, each on the previous output', async () => {
  const result = await f.client.workflow.execute(wordLengthPipeline, {
    workflowId: `pipeline-${f.session}`,
    taskQueue: f.taskQueue,
    args: [{ image: stack.testImage, sentence: 'durable jobs in containers', workDir }],
  });
  expect(result).toEqual({ words: ['durable', 'jobs', 'in', 'containers'], lengths: [7, 4, 2, 10], total: 23 });
});

it('is started by its small script, as a user would', async () => {
  const script = fileURLToPath(new URL('../../examples/pipeline/run.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, 'one two three'], {
    env: process.env,
  });
  expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
    words: ['one', 'two', 'three'],
    lengths: [3, 3, 5],
    total: 11,
  });
});
