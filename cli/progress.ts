// Progress of an array job: a bar on a terminal (cli-progress), plain lines otherwise.
import cliProgress from 'cli-progress';
import type { ArrayJobInfo } from '../workflows/definitions.js';

export interface Progress {
  update(info: ArrayJobInfo): void;
  stop(): void;
}

const counts = (i: ArrayJobInfo) =>
  `queued ${i.queued + i.held} running ${i.running} done ${i.done} failed ${i.failed}`;

export function progress(stream: NodeJS.WriteStream, total: number): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{bar} {value}/{total} | queued {queued} running {running} done {done} failed {failed}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { queued: total, running: 0, done: 0, failed: 0 });
    return {
      update: (i) =>
        bar.update(i.done + i.failed, {
          queued: i.queued + i.held,
          running: i.running,
          done: i.done,
          failed: i.failed,
        }),
      stop: () => bar.stop(),
    };
  }
  let last = '';
  return {
    update(i) {
      const line = `progress: ${i.done + i.failed}/${i.total} ${counts(i)}`;
      if (line !== last) stream.write(`${line}\n`);
      last = line;
    },
    stop: () => undefined,
  };
}
