// CPU time read from /proc: the whole machine and named processes.
import { readFile } from 'node:fs/promises';

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
