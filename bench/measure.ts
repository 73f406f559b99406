// What the benchmarks measure with: CPU time from /proc (the whole machine and named processes),
// the stack's service PIDs, and a median with its spread.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The PID of one of the stack's services (`temporal`, `podman`), from the stack's PID files. */
export async function stackPid(stackDir: string, service: string): Promise<number> {
  return Number(await readFile(join(stackDir, `pids/${service}.pid`), 'utf8'));
}

/** CPU seconds used so far: the whole machine (all cores) and each named process. */
export async function cpuSeconds(pids: Record<string, number>): Promise<Record<string, number>> {
  const hz = 100; // USER_HZ on Linux
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const f = cpu!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  const out: Record<string, number> = { machine: (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / hz };
  for (const [name, pid] of Object.entries(pids)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out[name] = (Number(fields[11]) + Number(fields[12])) / hz; // utime + stime
  }
  return out;
}

/** CPU seconds used between two readings. */
export function diff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
}

export function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
  return { n: s.length, median: q(0.5), min: s[0]!, max: s.at(-1)!, p10: q(0.1), p90: q(0.9) };
}
export type Stats = ReturnType<typeof stats>;

/** A figure with as many decimals as it deserves: 2 below 10, 1 below 100, else none. */
export const num = (x: number) => x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0);

/** `median (min-max, n=N)`. */
export const formatStats = (x: Stats) => `${num(x.median)} (${num(x.min)}-${num(x.max)}, n=${x.n})`;

/** A line of the results table: podman-tracker's figure, raw Podman's beside it, and the target. */
export interface Row {
  case: string;
  measure: string;
  podmanTracker: Stats | number;
  raw?: Stats | number;
  ratio?: number;
  target: string;
  met?: boolean;
  note?: string;
}
