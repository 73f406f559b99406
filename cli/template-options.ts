// Template options of `run`, `submit` and `submit-array`: a JobTemplate from a file and flags.
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import ms from 'ms';
import { DrmaaError, invalidArgument } from '../common/errors.js';
import type { JobTemplateInput } from '../common/template.js';

export interface TemplateFlags {
  template?: string;
  image?: string;
  name?: string;
  env: string[];
  workdir?: string;
  hostname?: string;
  output?: string;
  error?: string;
  input?: string;
  join?: boolean;
  stageIn: string[];
  limit: string[];
  hold?: boolean;
  startAt?: string;
  deadline?: string;
  queue?: string;
  rerunnable?: boolean;
  ext: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function addTemplateOptions(cmd: Command): Command {
  return cmd
    .option('--template <file>', 'a DRMAA2 JobTemplate as JSON; the flags below override its fields')
    .option('--image <image>', 'the container image (jobCategory)')
    .option('--name <name>', 'jobName')
    .option('--env <K=V>', 'jobEnvironment entry (repeatable)', collect, [])
    .option('--workdir <dir>', 'workingDirectory')
    .option('--hostname <host>', 'candidateMachines: the container hostname')
    .option('--output <file>', 'outputPath: the job stdout, on the worker host')
    .option('--error <file>', 'errorPath: the job stderr, on the worker host')
    .option('--input <file>', 'inputPath: the job stdin, on the worker host')
    .option('--join', 'joinFiles: stderr into the output file too')
    .option('--stage-in <HOST:CONTAINER>', 'stageInFiles entry: a bind mount (repeatable)', collect, [])
    .option('--limit <KEY=VALUE>', 'resourceLimits entry: memory, cpus, pids, ... (repeatable)', collect, [])
    .option('--hold', 'submitAsHold')
    .option('--start-at <time>', 'startTime: an ISO 8601 time, or a duration from now (30s, 5m)')
    .option('--deadline <time>', 'deadlineTime: an ISO 8601 time, or a duration from now')
    .option('--queue <name>', 'queueName: the Podman host that runs the job')
    .option('--rerunnable', 'reRunnable')
    .addOption(new Option('--ext <KEY=VALUE>', 'extensionList entry (repeatable)').argParser(collect).default([]));
}

function pairs(flag: string, values: string[], sep = '='): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf(sep);
    if (i <= 0) throw invalidArgument(`--${flag} "${v}": expected KEY${sep}VALUE`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** Durations as people write them: 30s, 5m, 1h, or milliseconds as a bare number. */
export function parseDuration(value: string, what: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : (ms(value as ms.StringValue) as number | undefined);
  if (n === undefined || !Number.isFinite(n) || n < 0) {
    throw invalidArgument(`${what} "${value}" is not a duration (30s, 5m, 1h, or milliseconds)`);
  }
  return n;
}

function parseTime(value: string, what: string): string {
  if (/^\d{4}-\d\d-\d\d/.test(value)) {
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw invalidArgument(`${what} "${value}" is not an ISO 8601 time`);
    return new Date(t).toISOString();
  }
  return new Date(Date.now() + parseDuration(value, what)).toISOString();
}

async function readTemplateFile(path: string): Promise<JobTemplateInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw invalidArgument(`--template ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as JobTemplateInput;
  } catch (err) {
    throw new DrmaaError('InvalidArgument', `--template ${path} is not JSON: ${(err as Error).message}`);
  }
}

/** The template the flags describe, over the template file's; the command words become the command. */
export async function templateFrom(flags: TemplateFlags, command: string[]): Promise<JobTemplateInput> {
  const t: JobTemplateInput = flags.template ? await readTemplateFile(flags.template) : {};
  if (command.length) {
    t.remoteCommand = command[0];
    t.args = command.slice(1);
  }
  if (flags.image !== undefined) t.jobCategory = flags.image;
  if (flags.name !== undefined) t.jobName = flags.name;
  if (flags.env.length) t.jobEnvironment = { ...t.jobEnvironment, ...pairs('env', flags.env) };
  if (flags.workdir !== undefined) t.workingDirectory = flags.workdir;
  if (flags.hostname !== undefined) t.candidateMachines = [flags.hostname];
  if (flags.output !== undefined) t.outputPath = flags.output;
  if (flags.error !== undefined) t.errorPath = flags.error;
  if (flags.input !== undefined) t.inputPath = flags.input;
  if (flags.join) t.joinFiles = true;
  if (flags.stageIn.length) t.stageInFiles = { ...t.stageInFiles, ...pairs('stage-in', flags.stageIn, ':') };
  if (flags.limit.length) t.resourceLimits = { ...t.resourceLimits, ...pairs('limit', flags.limit) };
  if (flags.hold) t.submitAsHold = true;
  if (flags.startAt !== undefined) t.startTime = parseTime(flags.startAt, '--start-at');
  if (flags.deadline !== undefined) t.deadlineTime = parseTime(flags.deadline, '--deadline');
  if (flags.queue !== undefined) t.queueName = flags.queue;
  if (flags.rerunnable) t.reRunnable = true;
  if (flags.ext.length) {
    t.extension = { extensionList: { ...t.extension?.extensionList, ...pairs('ext', flags.ext) } };
  }
  return t;
}
