// The `podman-tracker` command: DRMAA2 job control from a terminal or a script. This file is the
// command line only (commander and the flags): each command loads what it needs when it runs, so
// `--help` loads no Temporal client, and client commands load no worker, bundler, ssh or Podman client.
import { Command, CommanderError, Option } from 'commander';
import { JOB_CONTROL_ACTIONS } from '../common/states.js';
import { addWorkerOptions } from '../worker/options.js';
import type { WorkerFlags } from '../worker/worker.js';
import { forbidRepeats, intArg, type ArrayFlags, type RunFlags } from './flags.js';
import { cleanUp, connectionRefusal, connectionRefused, failure, USAGE, type Globals } from './output.js';
import { addTemporalOptions } from './temporal-options.js';
import { addTemplateOptions, type TemplateFlags } from './template-options.js';

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

const globals = () => program.opts<Globals>();
/** The command implementations, loaded at the first command that needs Temporal. */
const commands = () => import('./commands.js');

addWorkerOptions(
  program.command('worker').description('run a worker: hosts the workflows and the Podman activities'),
).action(async (o: Omit<WorkerFlags, 'taskQueue'>) => {
  const { taskQueue, session: _session, json: _json, ...temporal } = globals();
  const { runWorker, workerConfig } = await import('../worker/worker.js');
  await runWorker(workerConfig({ ...o, ...temporal, taskQueue }));
});

addTemplateOptions(
  program
    .command('run')
    .description(
      'run a job like a function call, as `podman run` does: its output live, its exit status this command’s',
    )
    .argument('[command...]', 'the command and its arguments (after -- if they look like options)')
    .option('-i, --interactive', 'send this command’s stdin to the job (at most 1 MiB: it travels through Temporal)')
    .option('-d, --detach', 'print the job ID and return; the job goes on')
    .option('--attach <job>', 'follow a job started before (by a run that was stopped): its output and exit status')
    .option('--no-sig-proxy', 'do not pass SIGINT and SIGTERM on to the job')
    .passThroughOptions(),
).action(async (command: string[], flags: RunFlags) => (await commands()).run(globals(), command, flags));

addTemplateOptions(
  program
    .command('submit')
    .description('submit a job and print its ID')
    .argument('[command...]')
    .option('-i, --interactive', 'send this command’s stdin to the job (at most 1 MiB)')
    .passThroughOptions(),
).action(async (command: string[], flags: TemplateFlags & { interactive?: boolean }) =>
  (await commands()).submit(globals(), command, flags),
);

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
).action(async (command: string[], flags: ArrayFlags) => (await commands()).submitArray(globals(), command, flags));

program
  .command('state')
  .argument('<job>')
  .description('the job state (and sub-state)')
  .action(async (job: string) => (await commands()).state(globals(), job));

program
  .command('info')
  .argument('<job>')
  .description('the JobInfo as JSON')
  .action(async (job: string) => (await commands()).info(globals(), job));

program
  .command('template')
  .argument('<job>')
  .description('the JobTemplate the job was submitted with, as JSON')
  .action(async (job: string) => (await commands()).template(globals(), job));

for (const action of JOB_CONTROL_ACTIONS) {
  program
    .command(action)
    .argument('<job>', 'a job ID, or an array job ID for every task')
    .description(`${action} a job`)
    .action(async (job: string) => (await commands()).control(globals(), job, action));
}

program
  .command('wait')
  .argument('<job>')
  .description('wait until the job reaches one of the states')
  .option('--timeout <duration>', 'give up after this long (30s, 5m, 1h, or milliseconds)')
  .option('--state <states>', 'comma-separated states', 'done,failed')
  .action(async (job: string, o: { timeout?: string; state: string }) => (await commands()).wait(globals(), job, o));

program
  .command('delete')
  .argument('<job>')
  .description('remove an ended job and its container')
  .action(async (job: string) => (await commands()).remove(globals(), job));

program
  .command('list')
  .description('the session’s job IDs, one a line')
  .action(async () => (await commands()).list(globals()));

program
  .command('list-array')
  .argument('<array-job>')
  .description('the task job IDs of an array job, one a line')
  .action(async (arrayJob: string) => (await commands()).listArray(globals(), arrayJob));

program
  .command('categories')
  .description('the image names a job may use (jobCategory), one a line')
  .action(async () => (await commands()).categories(globals()));

program
  .command('logs')
  .argument('<job>')
  .description('the job’s stdout (or stderr) so far; with --follow, both as they are written, until it ends')
  .option('--stderr', 'the stderr instead')
  .option('-f, --follow', 'follow the output live until the job ends, as `podman logs -f` does')
  .action(async (job: string, o: { stderr?: boolean; follow?: boolean }) => (await commands()).logs(globals(), job, o));

forbidRepeats(program);
let running = '';
program.hook('preAction', (_program, command) => void (running = command.name()));

let refused = false;
try {
  const parsed = program.parseAsync(process.argv);
  parsed.catch(() => undefined); // raced below: a call still waiting when Temporal refused is dropped
  await Promise.race([parsed, connectionRefused.catch((err: unknown) => Promise.reject(((refused = true), err)))]);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with status 0.
    if (err.exitCode !== 0) failure(globals(), 'InvalidArgument', err.message.replace(/^error: /, ''), USAGE);
  } else {
    const { DrmaaError } = await import('../common/errors.js');
    // A call refused for the connection's sake (no server, TLS, API key) is told as its check tells it.
    const e = DrmaaError.find((await connectionRefusal()) ?? err);
    // `run` answers as `podman run` does: 125 when the job could not be run.
    const status = running === 'run' ? 125 : 1;
    if (e) failure(globals(), e.kind, e.message, status);
    else failure(globals(), 'Internal', err instanceof Error ? err.message : String(err), status);
  }
} finally {
  await cleanUp();
  // The command's calls may still be retrying against the refused connection: they are not waited for.
  if (refused) process.exit();
}
