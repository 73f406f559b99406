// What each client command does, over the JobTracker (client/tracker.ts). Loaded when a command runs.
import { DrmaaError } from '../common/errors.js';
import { isJobState, type JobControlAction, type JobState } from '../common/states.js';
import type { ArrayFlags, RunFlags } from './flags.js';
import { json, out, printStatus, type Globals } from './output.js';
import { attach, readStdin } from './run.js';
import { tracker } from './session.js';
import { parseDuration, templateFrom, type TemplateFlags } from './template-options.js';

export async function run(g: Globals, command: string[], flags: RunFlags): Promise<void> {
  const t = tracker(g);
  if (flags.attach !== undefined) {
    if (command.length || flags.image || flags.template) {
      throw new DrmaaError('InvalidArgument', '--attach follows a job started before: it takes no command or template');
    }
    process.exitCode = await attach(t, flags.attach, { sigProxy: flags.sigProxy });
    return;
  }
  const template = await templateFrom(flags, command);
  const stdin = flags.interactive ? await readStdin() : undefined;
  const id = await t.addJob(template, { stdin });
  if (flags.detach) {
    if (g.json) json({ id });
    else out(id);
    return;
  }
  process.exitCode = await attach(t, id, { sigProxy: flags.sigProxy });
}

export async function submit(
  g: Globals,
  command: string[],
  flags: TemplateFlags & { interactive?: boolean },
): Promise<void> {
  const t = tracker(g);
  const template = await templateFrom(flags, command);
  const id = await t.addJob(template, { stdin: flags.interactive ? await readStdin() : undefined });
  if (g.json) json({ id });
  else out(id);
}

export async function submitArray(g: Globals, command: string[], flags: ArrayFlags): Promise<void> {
  const t = tracker(g);
  const template = await templateFrom(flags, command);
  const id = await t.addArrayJob(template, flags.begin, flags.end, flags.step, flags.maxParallel);
  if (g.json && !flags.wait) {
    json({ id });
    return;
  }
  out(id);
  if (!flags.wait) return;
  const { progress } = await import('./progress.js');
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
  if (g.json) json(result);
  if (result.failed.length) {
    process.stderr.write(
      `podman-tracker: ${result.failed.length} of ${result.total} tasks failed: ${result.failed.join(', ')}\n`,
    );
    process.exitCode = 1;
  }
}

export async function state(g: Globals, job: string): Promise<void> {
  printStatus(g, await tracker(g).jobState(job));
}

export async function info(g: Globals, job: string): Promise<void> {
  json(await tracker(g).jobInfo(job));
}

export async function template(g: Globals, job: string): Promise<void> {
  json(await tracker(g).jobTemplate(job));
}

export async function control(g: Globals, job: string, action: JobControlAction): Promise<void> {
  printStatus(g, await tracker(g).jobControl(job, action));
}

export async function wait(g: Globals, job: string, o: { timeout?: string; state: string }): Promise<void> {
  const states = o.state.split(',').map((s) => s.trim());
  const bad = states.filter((s) => !isJobState(s));
  if (bad.length) throw new DrmaaError('InvalidArgument', `--state: unknown state ${bad.join(', ')}`);
  const timeout = o.timeout === undefined ? null : parseDuration(o.timeout, '--timeout');
  printStatus(g, await tracker(g).wait(job, timeout, states as JobState[]));
}

export async function remove(g: Globals, job: string): Promise<void> {
  await tracker(g).deleteJob(job);
  if (g.json) json({ deleted: job });
}

export async function list(g: Globals): Promise<void> {
  const t = tracker(g);
  const ids = await t.listJobs();
  if (!g.json) {
    ids.forEach((id) => out(id));
    return;
  }
  json(await Promise.all(ids.map(async (id) => ({ id, state: (await t.jobState(id)).state }))));
}

export async function listArray(g: Globals, arrayJob: string): Promise<void> {
  const ids = await tracker(g).listArrayJobs(arrayJob);
  if (g.json) json(ids);
  else ids.forEach((id) => out(id));
}

export async function categories(g: Globals): Promise<void> {
  const names = await tracker(g).listJobCategories();
  if (g.json) json(names);
  else names.forEach((n) => out(n));
}

export async function logs(g: Globals, job: string, o: { stderr?: boolean; follow?: boolean }): Promise<void> {
  const t = tracker(g);
  if (o.follow) {
    await attach(t, job, { sigProxy: false, exitStatus: false });
    return;
  }
  const output = await t.jobLogs(job);
  if (g.json) {
    json(output);
    return;
  }
  process.stdout.write(o.stderr ? output.stderr : output.stdout);
}
