// A worker's powers on the real stack: a worker with the defaults refuses jobs that ask for more
// than their own container (before any container exists, with the option to set), and a worker
// granted those powers runs the same jobs.
import { execFile } from 'node:child_process';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../common/convert.js';
import { NO_POWERS } from '../../common/powers.js';
import type { JobTemplateInput } from '../../common/template.js';
import { podman, podmanInspect, sessionContainers, stack } from '../helpers.js';
import { startTracker, type TrackerFixture } from './fixtures.js';

let plain: TrackerFixture;
let granted: TrackerFixture;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pt-powers-'));
  await writeFile(join(dir, 'data.txt'), 'staged\n');
  await symlink('/etc', join(dir, 'escape'));
  plain = await startTracker('powers');
  granted = await startTracker('powers-granted', {
    powers: {
      ...NO_POWERS,
      privileged: true,
      hostNamespaces: ['net'],
      bindMounts: true,
      mountAllow: [dir],
      imageAllow: ['localhost/podman-tracker/*'],
    },
  });
});
afterAll(async () => {
  await plain?.close();
  await granted?.close();
});

const job = (t: Partial<JobTemplateInput>): JobTemplateInput => ({ jobCategory: stack.testImage, ...t });
const jobContainers = async (id: string) =>
  (await podman('ps', '-a', '--filter', `label=${LABEL.job}=${id}`, '--format', '{{.ID}}')).split('\n').filter(Boolean);

const cases: Array<[string, () => JobTemplateInput, RegExp]> = [
  ['a privileged job', () => job({ remoteCommand: 'true', extension: { extensionList: { privileged: 'true' } } }), /privileged containers .*--allow-privileged \(PODMAN_TRACKER_ALLOW_PRIVILEGED=1\)/],
  ['a host-network job', () => job({ remoteCommand: 'true', extension: { extensionList: { net: 'host' } } }), /the host's net namespace .*--allow-host-namespaces net \(PODMAN_TRACKER_ALLOW_HOST_NAMESPACES=net\)/],
  ['a bind-mount job', () => job({ remoteCommand: 'cat', args: ['/data/data.txt'], stageInFiles: { [dir]: '/data' } }), /bind mounts \(stageInFiles\) .*--allow-bind-mounts \(PODMAN_TRACKER_ALLOW_BIND_MOUNTS=1\)/],
]; // prettier-ignore

describe('a worker with the defaults', () => {
  it.each(cases)(
    'refuses %s: DeniedByDrms naming the option, no container, the workflow closed',
    async (_name, template, option) => {
      const id = await plain.tracker.addJob(template());
      expect(await plain.tracker.wait(id)).toEqual({ state: 'failed', subState: 'startFailed' });
      const { info } = await plain.tracker.result(id);
      expect(info.annotation).toMatch(/^DeniedByDrms: /);
      expect(info.annotation).toMatch(option);
      expect(info.exitStatus).toBeUndefined();
      expect(await jobContainers(id)).toEqual([]);
      expect((await plain.client.workflow.getHandle(id).describe()).status.name).toBe('COMPLETED');
    },
  );

  it('tells a CLI user, with exit status 125', async () => {
    const bin = fileURLToPath(new URL('../../bin/podman-tracker', import.meta.url));
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [bin, 'run', '--image', stack.testImage, '--ext', 'privileged=true', '--', 'true'],
        { env: { ...process.env, PODMAN_TRACKER_SESSION: plain.session, PODMAN_TRACKER_TASK_QUEUE: plain.taskQueue } },
        (err, _stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(
      /did not start: startFailed: DeniedByDrms: privileged containers .* start it with --allow-privileged/,
    );
  });

  it('has made no container for any of them', async () => {
    expect(await sessionContainers(plain.session)).toEqual([]);
  });
});

describe('a worker granted the powers', () => {
  it.each(cases)('runs %s', async (_name, template) => {
    const id = await granted.tracker.addJob(template());
    const r = await granted.tracker.result(id);
    expect(r.info, r.info.annotation).toMatchObject({ state: 'done', exitStatus: 0 });
    const inspect = await podmanInspect(r.info.extension!.extensionList.containerId!);
    const t = template();
    if (t.extension?.extensionList?.privileged) expect(inspect.HostConfig.Privileged).toBe(true);
    if (t.extension?.extensionList?.net) expect(inspect.HostConfig.NetworkMode).toBe('host');
    if (t.stageInFiles) expect(r.stdout).toBe('staged\n');
  });

  it('still refuses a mount that leaves its allowed folder through a symlink', async () => {
    const id = await granted.tracker.addJob(
      job({ remoteCommand: 'true', stageInFiles: { [join(dir, 'escape')]: '/data' } }),
    );
    const { info } = await granted.tracker.result(id);
    expect(info.annotation).toMatch(
      /^DeniedByDrms: stageInFiles: .*escape \(that is \/etc\) is outside .*--mount-allow/,
    );
    expect(await jobContainers(id)).toEqual([]);
  });

  it('refuses an image outside its allow-list', async () => {
    const id = await granted.tracker.addJob({ jobCategory: stack.pullImage, remoteCommand: 'true' });
    const { info } = await granted.tracker.result(id);
    expect(info.annotation).toMatch(
      /^DeniedByDrms: image .* matches none of this worker's allowed images .*--image-allow/,
    );
    expect(await jobContainers(id)).toEqual([]);
  });
});
