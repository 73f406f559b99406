// A user's workflow that runs container steps in a row as child workflows, each step using the
// previous one's output (examples/pipeline).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { wordLengthPipeline } from '../../examples/pipeline/workflows.js';
import { stack } from '../helpers.js';
import { startTracker, type TrackerFixture } from './fixtures.js';

let f: TrackerFixture;
beforeAll(async () => {
  f = await startTracker('pipeline', {
    workflowsPath: fileURLToPath(new URL('../../examples/pipeline/workflows.ts', import.meta.url)),
  });
});
afterAll(() => f?.close());

it('runs three container steps through executeChild, each on the previous output', async () => {
  const workDir = await mkdtemp(join(tmpdir(), 'pt-pipeline-'));
  const result = await f.client.workflow.execute(wordLengthPipeline, {
    workflowId: `pipeline-${f.session}`,
    taskQueue: f.taskQueue,
    args: [{ image: stack.testImage, sentence: 'durable jobs in containers', workDir }],
  });
  expect(result).toEqual({ words: ['durable', 'jobs', 'in', 'containers'], lengths: [7, 4, 2, 10], total: 23 });
});
