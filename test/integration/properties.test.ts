// Generated templates, valid and invalid, against the client's validation and the Podman activities
// (1,000 of them), then fewer end to end through the tracker and a real worker: each either runs as
// it says or is refused with a typed error; nothing crashes, no workflow is left running, no
// container is left behind.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Logger } from '@temporalio/common';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type PodmanActivities } from '../../activities/index.js';
import { LABEL } from '../../common/convert.js';
import { DrmaaError, ERROR_KINDS } from '../../common/errors.js';
import type { JobTemplate, JobTemplateInput } from '../../common/template.js';
import { podmanClient, removeSession, sessionContainers, stack, uniqueSession } from '../helpers.js';
import { templateCases, type CaseOptions, type CaseWeights, type TemplateCase } from '../template-arbitraries.js';
import { eventually, startTracker, type TrackerFixture } from './fixtures.js';

/** Change it to explore other templates; a failure prints the seed and the shrunk counterexample. */
const SEED = Number(process.env.PODMAN_TRACKER_PROPERTY_SEED ?? 20261125);
const BATCH = 10; // templates run at once: Podman works on several containers while others wait
const CASE_TIMEOUT_MS = 60_000;
/**
 * A failure is shrunk to a small counterexample. fast-check's time limit covers the whole run, shrinking
 * included (the run takes about 45 s here): it stops a stalled shrink, with room for a slower machine.
 */
const SHRINKING = { verbose: 1, interruptAfterTimeLimit: 400_000, markInterruptAsFailure: true } as const;
/** End to end, more of them valid: each accepted one is a workflow and (mostly) a container. */
const WORKFLOW_MIX: CaseWeights = { valid: 4, edgy: 1, workerRefused: 2, invalid: 3, notATemplate: 1 };

const docker = podmanClient();
const quiet: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const activities = createActivities({ docker });

/** An activity in an activity context, as a worker runs it (its refusals are expected: not logged). */
function act<K extends keyof PodmanActivities>(
  name: K,
  ...args: Parameters<PodmanActivities[K]>
): Promise<Awaited<ReturnType<PodmanActivities[K]>>> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 }, { logger: quiet });
  const fn = activities[name] as (
    ...a: Parameters<PodmanActivities[K]>
  ) => Promise<Awaited<ReturnType<PodmanActivities[K]>>>;
  return env.run(fn, ...args);
}

/** The error as DRMAA2 types it; anything else fails the property. */
function typed(err: unknown): DrmaaError {
  const e = DrmaaError.find(err);
  if (!e) throw new Error(`untyped error: ${String(err)}`, { cause: err });
  expect(ERROR_KINDS).toContain(e.kind);
  expect(e.message.trim()).not.toBe('');
  return e;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stuck: ${what} after ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A template in a failure message: long strings cut short. */
function shown(template: unknown): string {
  return JSON.stringify(template, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}...(${v.length} chars)` : v,
  );
}

/** Runs one case; a failure names the template it failed on, whatever else ran in its batch. */
async function named(c: TemplateCase, run: (c: TemplateCase) => Promise<void>): Promise<void> {
  try {
    await run(c);
  } catch (err) {
    const message = String((err as Error).message ?? err).slice(0, 1000);
    throw new Error(`${message}\n  template: ${shown(c.template)}\n  expected: ${shown(c.expected)}`, { cause: err });
  }
}

async function jobContainers(jobId: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL.job}=${jobId}`] } });
  return list.map((c) => c.Id);
}

let f: TrackerFixture;
let options: CaseOptions;
let dir: string;
beforeAll(async () => {
  f = await startTracker('props');
  dir = await mkdtemp(join(tmpdir(), 'pt-props-'));
  const inputFile = join(dir, 'in.txt');
  const inputText = 'one\ntwo ü\n';
  await writeFile(inputFile, inputText);
  await mkdir(join(dir, 'out'));
  options = { image: stack.testImage, dir, inputFile, inputText, hostName: f.worker.hostName, endToEnd: false };
});
afterAll(async () => {
  await f?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('generated templates', () => {
  const session = uniqueSession('props-acts');
  afterAll(() => removeSession(session));

  it('1,000 through the client validation and the activities: typed refusals or correct runs, nothing left', async () => {
    let seq = 0;
    const seen = { total: 0, clientRefused: 0, workerRefused: 0, ran: 0 };

    const check = async ({ template, expected }: TemplateCase): Promise<void> => {
      const jobId = `${session}.${++seq}`;
      seen.total++;
      // The client's verdict; a worker is sent what the client would send, or (refused) the template as
      // it is, as from a client that skipped validation: the worker must not trust its clients.
      let sent: unknown = template;
      let clientError: DrmaaError | undefined;
      try {
        sent = f.tracker.validate(template as JobTemplateInput, jobId);
      } catch (err) {
        clientError = typed(err);
      }
      expect(clientError !== undefined, `client refusal: ${clientError?.message}`).toBe(expected.clientRefuses);
      if (clientError) expect(expected.kinds).toContain(clientError.kind);

      const started = await withTimeout(
        act('createAndStartContainer', { jobId, session, template: sent as JobTemplateInput }).catch(typed),
        `creating ${jobId}`,
      );
      if (started instanceof DrmaaError) {
        seen[clientError ? 'clientRefused' : 'workerRefused']++;
        if (clientError) expect(started.kind).toBe(clientError.kind);
        // A worker asked to start a job past its deadline (its workflow never asks) refuses: Timeout.
        const kinds = expected.pastDeadline ? [...expected.kinds, 'Timeout'] : expected.kinds;
        expect(kinds, started.message).toContain(started.kind);
        expect(await jobContainers(jobId), 'a refused job leaves no container').toEqual([]);
        return;
      }
      expect(expected.refused, `ran what must be refused: ${JSON.stringify(expected.kinds)}`).toBe(false);
      expect(expected.pastDeadline, 'started a job past its deadline').toBe(false);
      seen.ran++;
      const ref = { jobId, containerId: started.containerId };
      const ended = await withTimeout(act('waitForExit', ref), `waiting for ${jobId}`);
      expect(ended.state).toBe(expected.exitCode === 0 ? 'done' : 'failed');
      expect(ended.info?.exitStatus).toBe(expected.exitCode);
      const t = sent as JobTemplate;
      const files = { outputPath: t.outputPath, errorPath: t.errorPath, joinFiles: t.joinFiles };
      const result = await withTimeout(act('collectResult', ref, files), `collecting ${jobId}`);
      if (expected.stdout !== undefined) expect(result.output?.stdout).toBe(expected.stdout);
      if (expected.outputFile && expected.stdout !== undefined) {
        expect(await readFile(expected.outputFile, 'utf8')).toBe(expected.stdout);
      }
      // rm is the worker's once the job's workflow has closed (lifecycle.test.ts); these jobs have no
      // workflow: the collection keeps each container (rm or not), removeJob takes it.
      expect(await jobContainers(jobId), 'a collected job keeps its container').toHaveLength(1);
      await act('removeJob', ref);
      expect(await jobContainers(jobId), 'a removed job leaves no container').toEqual([]);
    };

    await fc.assert(
      fc.asyncProperty(fc.array(templateCases(options), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await Promise.all(batch.map((c) => withTimeout(named(c, check), 'a template')));
      }),
      { numRuns: 100, seed: SEED, ...SHRINKING },
    );
    console.log(`templates: ${JSON.stringify(seen)}`);
    expect(seen.total).toBeGreaterThanOrEqual(1000);
    expect(seen.ran).toBeGreaterThan(50);
    expect(seen.workerRefused).toBeGreaterThan(20);
    expect(await sessionContainers(session)).toEqual([]);
    await removeSession(session);
  }, 480_000);

  it('60 end to end through the tracker and a worker: done or failed as they say, or refused typed; every workflow completed, no stray container', async () => {
    const ended = new Map<string, { containerId?: string; rm: boolean }>();
    let refused = 0;

    const check = async ({ template, expected }: TemplateCase): Promise<void> => {
      let id: string;
      try {
        id = await f.tracker.addJob(template as JobTemplateInput);
      } catch (err) {
        const e = typed(err);
        expect(expected.clientRefuses, `addJob refused: ${e.message}`).toBe(true);
        expect(expected.kinds).toContain(e.kind);
        refused++;
        return;
      }
      expect(expected.clientRefuses, 'addJob accepted what the client must refuse').toBe(false);
      // Past its deadline, a held job has ended already: there is nothing to release.
      if (expected.hold && !expected.pastDeadline) await f.tracker.jobControl(id, 'release');
      const end = await f.tracker.wait(id, CASE_TIMEOUT_MS);
      const { info, stdout } = await f.tracker.result(id);
      ended.set(id, { containerId: info.extension?.extensionList.containerId, rm: expected.rm });
      if (info.subState === 'startFailed') {
        // Refused by the worker: the job failed without a container, and says why with a DRMAA2 kind.
        expect(end.state).toBe('failed');
        expect(expected.kinds, info.annotation).toContain(/^(\w+): ./.exec(info.annotation ?? '')?.[1]);
        return;
      }
      if (expected.pastDeadline) {
        // Submitted past its deadline: never started, so never refused by the worker either.
        expect(info).toMatchObject({ state: 'failed', subState: 'deadline' });
        expect(info.extension?.extensionList.containerId).toBeUndefined();
        return;
      }
      expect(expected.refused, `ran what must be refused: ${JSON.stringify(expected.kinds)}`).toBe(false);
      expect(end.state).toBe(expected.exitCode === 0 ? 'done' : 'failed');
      expect(info.exitStatus).toBe(expected.exitCode);
      if (expected.stdout !== undefined) expect(stdout).toBe(expected.stdout);
    };

    const cases = templateCases({ ...options, endToEnd: true }, WORKFLOW_MIX);
    await fc.assert(
      fc.asyncProperty(fc.array(cases, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await Promise.all(batch.map((c) => withTimeout(named(c, check), 'a job')));
      }),
      { numRuns: 6, seed: SEED, ...SHRINKING },
    );
    console.log(`jobs: ${JSON.stringify({ refused, ended: ended.size })}`);
    expect(refused + ended.size).toBeGreaterThanOrEqual(60);
    expect(ended.size).toBeGreaterThan(25);

    // Every accepted job's workflow has completed (a failed one would be an error that got away),
    // and the session lists them all; none is still running.
    for (const id of ended.keys()) {
      expect((await f.client.workflow.getHandle(id).describe()).status.name, id).toBe('COMPLETED');
    }
    await eventually(async () => {
      const listed = await f.tracker.listJobs();
      expect(listed).toEqual(expect.arrayContaining([...ended.keys()]));
      const running: string[] = [];
      const query = `WorkflowId STARTS_WITH '${f.session}.' AND ExecutionStatus = 'Running'`;
      for await (const w of f.client.workflow.list({ query })) running.push(w.workflowId);
      expect(running).toEqual([]);
    }, 30_000);

    // The containers left are exactly those of the jobs that ran without rm (rm ones go once their
    // jobs have closed, within a second or so), until they are deleted.
    const kept = [...ended.values()].filter((j) => j.containerId && !j.rm).map((j) => j.containerId!.slice(0, 12));
    await eventually(async () => expect((await sessionContainers(f.session)).sort()).toEqual(kept.sort()), 30_000);
    await Promise.all([...ended.keys()].map((id) => f.tracker.deleteJob(id)));
    expect(await sessionContainers(f.session)).toEqual([]);
  }, 480_000);
});
