// The `podman-tracker` command: DRMAA2 job control from a terminal or a script.
import { Client, type Connection } from '@temporalio/client';
import { Command, CommanderError, Option } from 'commander';
import { connectTemporal, temporalConnection, type TemporalFlags } from '../client/connection.js';
import { PodmanTracker } from '../client/tracker.js';
import { dataConverterFromEnv } from '../common/data-converter.js';
import { DrmaaError } from '../common/errors.js';
import { isJobState, JOB_CONTROL_ACTIONS, type JobState } from '../common/states.js';
import { addWorkerOptions } from '../worker/options.js';
import { runWorker, workerConfig, type WorkerFlags } from '../worker/worker.js';
import { progress } from './progress.js';
import { addTemporalOptions } from './temporal-options.js';
import { addTemplateOptions, parseDuration, templateFrom, type TemplateFlags } from './template-options.js';

interface GlobalOptions extends TemporalFlags {
  taskQueue: string;
  session: string;
  json?: boolean;
}

/** The exit status `run` gives when the job could not be started, as `podman run` does. */
const NOT_STARTED = 125;

const program = addTemporalOptions(
  new Command('podman-tracker').description('DRMAA2 jobs as Podman containers, made durable by Temporal').enablePositionalOptions(),
)
  .addOption(new Option('--task-queue <queue>', 'task queue of the workers').env('PODMAN_TRACKER_TASK_QUEUE').default('podman-tracker'))
  .addOption(new Option('--session <name>', 'DRMAA2 job session').env('PODMAN_TRACKER_SESSION').default('default'))
  .option('--json', 'machine-readable output and errors')
  .exitOverride()
  // Usage errors are reported once, below, in this command's own error format.
  .configureOutput({ writeErr: () => undefined }); // prettier-ignore

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const globals = () => program.opts<GlobalOptions>();
function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}
/** A state as scripts read it: `running` or `running restarting`; with --json, {"state","subState"}. */
function printStatus(s: { state: string; subState: string }): void {
  if (globals().json) json(s);
  else out(s.subState ? `${s.state} ${s.subState}` : s.state);
}

let connection: Connection | undefined;
async function tracker(): Promise<PodmanTracker> {
  const g = globals();
  const t = temporalConnection(g);
  connection ??= await connectTemporal(t);
  return new PodmanTracker({
    client: new Client({ connection, namespace: t.namespace, dataConverter: dataConverterFromEnv() }),
    session: g.session,
    taskQueue: g.taskQueue,
  });
}

addWorkerOptions(
  program.command('worker').description('run a worker: hosts the workflows and the Podman activities'),
).action(async (o: Omit<WorkerFlags, keyof TemporalFlags | 'taskQueue'>) => {
  const { taskQueue, session: _session, json: _json, ...temporal } = globals();
  await runWorker(workerConfig({ ...o, ...temporal, taskQueue }));
});

addTemplateOptions(
  program
    .command('run')
    .description('run a job like a function call: its stdout, stderr and exit status become this command’s')
    .argument('[command...]', 'the command and its arguments (after -- if they look like options)')
    .passThroughOptions(),
).action(async (command: string[], flags: TemplateFlags) => {
  const t = await tracker();
  const id = await t.addJob(await templateFrom(flags, command));
  const r = await t.result(id);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  for (const [name, cut] of [
    ['stdout', r.stdoutTruncated],
    ['stderr', r.stderrTruncated],
  ] as const) {
    if (cut)
      process.stderr.write(`podman-tracker: ${cut} more bytes of ${name} are not shown (use --output/--error)\n`);
  }
  if (r.info.exitStatus === undefined) {
    process.stderr.write(
      `podman-tracker: job ${id} did not start: ${r.info.subState}${r.info.annotation ? `: ${r.info.annotation}` : ''}\n`,
    );
  }
  process.exitCode = r.info.exitStatus ?? NOT_STARTED;
});

addTemplateOptions(
  program.command('submit').description('submit a job and print its ID').argument('[command...]').passThroughOptions(),
).action(async (command: string[], flags: TemplateFlags) => {
  const id = await (await tracker()).addJob(await templateFrom(flags, command));
  if (globals().json) json({ id });
  else out(id);
});

addTemplateOptions(
  program
    .command('submit-array')
    .description('submit an array job (tasks begin..end by step, TASK_ID set) and print its ID')
    .requiredOption('--begin <n>', 'first task number', intArg)
    .requiredOption('--end <n>', 'last task number', intArg)
    .option('--step <n>', 'task number step', intArg, 1)
    .option('--max-parallel <n>', 'tasks at once (0: no limit)', intArg, 0)
    .option('--wait', 'wait for every task, with progress; exit 1 if any failed')
    .argument('[command...]')
    .passThroughOptions(),
).action(
  async (
    command: string[],
    flags: TemplateFlags & { begin: number; end: number; step: number; maxParallel: number; wait?: boolean },
  ) => {
    const t = await tracker();
    const id = await t.addArrayJob(
      await templateFrom(flags, command),
      flags.begin,
      flags.end,
      flags.step,
      flags.maxParallel,
    );
    if (globals().json && !flags.wait) {
      json({ id });
      return;
    }
    out(id);
    if (!flags.wait) return;
    const first = await t.arrayInfo(id);
    const bar = progress(process.stderr, first.total);
    for (;;) {
      const info = await t.arrayInfo(id);
      bar.update(info);
      if (info.done + info.failed === info.total) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    bar.stop();
    const result = await t.arrayResult(id);
    if (globals().json) json(result);
    if (result.failed.length) {
      process.stderr.write(
        `podman-tracker: ${result.failed.length} of ${result.total} tasks failed: ${result.failed.join(', ')}\n`,
      );
      process.exitCode = 1;
    }
  },
);

program
  .command('state')
  .argument('<job>')
  .description('the job state (and sub-state)')
  .action(async (job: string) => {
    const s = await (await tracker()).jobState(job);
    printStatus(s);
  });

program
  .command('info')
  .argument('<job>')
  .description('the JobInfo as JSON')
  .action(async (job: string) => json(await (await tracker()).jobInfo(job)));

program
  .command('template')
  .argument('<job>')
  .description('the JobTemplate the job was submitted with, as JSON')
  .action(async (job: string) => json(await (await tracker()).jobTemplate(job)));

for (const action of JOB_CONTROL_ACTIONS) {
  program
    .command(action)
    .argument('<job>', 'a job ID, or an array job ID for every task')
    .description(`${action} a job`)
    .action(async (job: string) => {
      const s = await (await tracker()).jobControl(job, action);
      printStatus(s);
    });
}

program
  .command('wait')
  .argument('<job>')
  .description('wait until the job reaches one of the states')
  .option('--timeout <duration>', 'give up after this long (30s, 5m, 1h, or milliseconds)')
  .option('--state <states>', 'comma-separated states', 'done,failed')
  .action(async (job: string, o: { timeout?: string; state: string }) => {
    const states = o.state.split(',').map((s) => s.trim());
    const bad = states.filter((s) => !isJobState(s));
    if (bad.length) throw new DrmaaError('InvalidArgument', `--state: unknown state ${bad.join(', ')}`);
    const timeout = o.timeout === undefined ? null : parseDuration(o.timeout, '--timeout');
    const s = await (await tracker()).wait(job, timeout, states as JobState[]);
    printStatus(s);
  });

program
  .command('delete')
  .argument('<job>')
  .description('remove an ended job and its container')
  .action(async (job: string) => {
    await (await tracker()).deleteJob(job);
    if (globals().json) json({ deleted: job });
  });

program
  .command('list')
  .description('the session’s job IDs, one a line')
  .action(async () => {
    const t = await tracker();
    const ids = await t.listJobs();
    if (!globals().json) {
      ids.forEach((id) => out(id));
      return;
    }
    json(await Promise.all(ids.map(async (id) => ({ id, state: (await t.jobState(id)).state }))));
  });

program
  .command('list-array')
  .argument('<array-job>')
  .description('the task job IDs of an array job, one a line')
  .action(async (arrayJob: string) => {
    const ids = await (await tracker()).listArrayJobs(arrayJob);
    if (globals().json) json(ids);
    else ids.forEach((id) => out(id));
  });

program
  .command('categories')
  .description('the image names a job may use (jobCategory), one a line')
  .action(async () => {
    const names = await (await tracker()).listJobCategories();
    if (globals().json) json(names);
    else names.forEach((n) => out(n));
  });

program
  .command('logs')
  .argument('<job>')
  .description('the job’s stdout (or stderr) so far')
  .option('--stderr', 'the stderr instead')
  .action(async (job: string, o: { stderr?: boolean }) => {
    const logs = await (await tracker()).jobLogs(job);
    if (globals().json) {
      json(logs);
      return;
    }
    process.stdout.write(o.stderr ? logs.stderr : logs.stdout);
  });

function intArg(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new DrmaaError('InvalidArgument', `"${value}" is not an integer`);
  return Number(value);
}

function fail(kind: string, message: string, status: number): void {
  if (globals().json) process.stderr.write(`${JSON.stringify({ error: { kind, message } })}\n`);
  else process.stderr.write(`error: ${kind}: ${message}\n`);
  process.exitCode = status;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with status 0.
    if (err.exitCode !== 0) fail('InvalidArgument', err.message.replace(/^error: /, ''), 2);
  } else {
    const e = DrmaaError.find(err);
    if (e) fail(e.kind, e.message, 1);
    else fail('Internal', err instanceof Error ? err.message : String(err), 1);
  }
} finally {
  await connection?.close();
}
