// The command a user types, beside its raw counterpart in the same run (cases 7 and 8 of `make bench`):
// `podman-tracker --help`, `state JOB` and `run` against `node -e 0` and `podman --remote run --rm`, and
// what live output costs Podman while a job streams.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PodmanTracker } from '../client/tracker.js';
import type { CountingProxy } from './proxy.js';
import { stats, type Row, type Stats } from './measure.js';

const run = promisify(execFile);

export interface CommandBench {
  repo: string;
  image: string;
  podmanArgs: string[];
  taskQueue: string;
  session: string;
  repeat: number;
  log(s: string): void;
}

/** The host's uptime in ms, as a container reads it too. */
function uptimeMs(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
}

/** Wall milliseconds of a command, which must succeed. */
async function wall(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  await run(cmd, args, { env, maxBuffer: 16 << 20 });
  return performance.now() - t0;
}

/** Case 7: each command and its baseline in turn, `repeat` pairs, so that drift hits both alike. */
export async function commandCases(b: CommandBench, tracker: PodmanTracker): Promise<Row[]> {
  const env = { ...process.env, PODMAN_TRACKER_TASK_QUEUE: b.taskQueue, PODMAN_TRACKER_SESSION: b.session };
  const cli = (...args: string[]) => wall(process.execPath, [join(b.repo, 'bin/podman-tracker'), ...args], env);
  const sleeper = await tracker.addJob({ jobCategory: b.image, remoteCommand: 'sleep', args: ['3600'] });
  await tracker.wait(sleeper, 60_000, ['running']);
  const help: number[] = [];
  const node: number[] = [];
  const state: number[] = [];
  const ours: number[] = [];
  const raw: number[] = [];
  try {
    // One of each first: the compile cache and Podman's first-run work are not what is measured.
    await cli('--help');
    await cli('state', sleeper);
    await cli('run', '--image', b.image, '--ext', 'rm=true', '--', 'true');
    b.log(`case 7: ${b.repeat} rounds of --help, state, run beside node -e 0 and podman run --rm`);
    for (let i = 0; i < b.repeat; i++) {
      help.push(await cli('--help'));
      node.push(await wall(process.execPath, ['-e', '0'], env));
      state.push(await cli('state', sleeper));
      ours.push(await cli('run', '--image', b.image, '--ext', 'rm=true', '--', 'true'));
      raw.push(await wall('podman', [...b.podmanArgs, 'run', '--rm', b.image, 'true'], env));
    }
  } finally {
    await tracker.jobControl(sleeper, 'terminate').catch(() => undefined);
  }
  const [h, n, s, o, r] = [help, node, state, ours, raw].map(stats) as [Stats, Stats, Stats, Stats, Stats];
  return [
    {
      case: '7 command: --help',
      measure: 'wall ms',
      podmanTracker: h,
      raw: n,
      ratio: h.median / n.median,
      target: '<= 250 ms',
      met: h.median <= 250,
      note: 'raw: node -e 0',
    },
    { case: '7 command: state JOB', measure: 'wall ms', podmanTracker: s, target: '<= 500 ms', met: s.median <= 500 },
    {
      case: '7 command: run -- true',
      measure: 'wall ms',
      podmanTracker: o,
      raw: r,
      ratio: o.median / r.median,
      target: '<= 1.3x podman --remote run --rm',
      met: o.median / r.median <= 1.3,
    },
  ];
}

/**
 * Case 8: a job that writes a line every 100 ms for 10 s, followed by `logs --follow` with its worker
 * behind the counting proxy: Podman requests per second of streaming, and how late lines arrive.
 */
export async function streamingCase(b: CommandBench, proxyTaskQueue: string, proxy: CountingProxy): Promise<Row> {
  b.log('case 8: 10 s of live output, a line every 100 ms');
  const env = { ...process.env, PODMAN_TRACKER_TASK_QUEUE: proxyTaskQueue, PODMAN_TRACKER_SESSION: b.session };
  // Each line carries the host's uptime when it was written (containers share /proc/uptime), so a
  // line's lateness is the uptime when it arrived here less that, to /proc/uptime's 10 ms.
  const script = 'i=0; while [ $i -lt 100 ]; do read u _ </proc/uptime; echo "$i $u"; i=$((i+1)); usleep 100000; done';
  const { stdout } = await run(
    process.execPath,
    [join(b.repo, 'bin/podman-tracker'), 'submit', '--image', b.image, '--', 'sh', '-c', script],
    { env },
  );
  const id = stdout.trim();
  const follow = spawn(process.execPath, [join(b.repo, 'bin/podman-tracker'), 'logs', '--follow', id], { env });
  const lateness: number[] = [];
  let buffered = '';
  proxy.reset();
  const t0 = performance.now();
  follow.stdout.on('data', (d: Buffer) => {
    const now = uptimeMs();
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) lateness.push(now - Number(line.split(' ')[1]) * 1000);
  });
  await new Promise((resolve) => follow.on('close', resolve));
  const seconds = (performance.now() - t0) / 1000;
  const requests = proxy.total();
  const lag = stats(lateness);
  return {
    case: '8 live output',
    measure: 'Podman requests/s while streaming',
    podmanTracker: requests / seconds,
    target: 'no request per line (the log is followed once); lines within 0.5 s (p90)',
    met: requests / seconds < 1 && lag.p90 <= 500,
    note: `${lateness.length} lines in ${seconds.toFixed(1)} s; ${requests} Podman requests (${[...proxy.counts()].map(([k, v]) => `${k} x${v}`).join(', ')}); lines arrived a median ${lag.median.toFixed(0)} ms (p90 ${lag.p90.toFixed(0)} ms, max ${lag.max.toFixed(0)} ms) after they were written`,
  };
}
