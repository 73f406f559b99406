// The worker's powers: what a job may reach beyond its container, refused unless granted, with
// the option that grants it named in the refusal.
import { mkdir, mkdtemp, realpath, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toContainerRequest } from '../../common/convert.js';
import { DrmaaError } from '../../common/errors.js';
import {
  allowMountsIn,
  checkPowers,
  CLASSIFIED_HOST_CONFIG,
  describePowers,
  imageMatches,
  NO_POWERS,
  powersFromEnv,
  workerPowers,
  type WorkerPowers,
} from '../../common/powers.js';
import { parseJobTemplate, type JobTemplateInput } from '../../common/template.js';

const request = (t: JobTemplateInput) =>
  toContainerRequest(parseJobTemplate({ jobCategory: 'localhost/podman-tracker/busybox:latest', ...t }), {
    jobId: 'j1',
    session: 's1',
  }).create;
const ext = (extensionList: Record<string, string>) => request({ extension: { extensionList } });

/** The refusal's message, or 'allowed'. */
async function verdict(t: JobTemplateInput | ReturnType<typeof request>, powers: Partial<WorkerPowers> = {}) {
  const create = 'HostConfig' in t ? t : request(t as JobTemplateInput);
  try {
    await checkPowers(create, { ...NO_POWERS, ...powers });
    return 'allowed';
  } catch (e) {
    if (!(e instanceof DrmaaError)) throw e;
    expect(e.kind).toBe('DeniedByDrms');
    expect(e.nonRetryable).toBe(true);
    return e.message;
  }
}

describe('by default a worker refuses every power, naming the option that grants it', () => {
  const cases: Array<[string, ReturnType<typeof request>, RegExp]> = [
    ['privileged', ext({ privileged: 'true' }), /^privileged containers .* are not allowed on this worker: start it with --allow-privileged \(PODMAN_TRACKER_ALLOW_PRIVILEGED=1\)$/],
    ['ipc=host', ext({ ipc: 'host' }), /^the host's ipc namespace .* --allow-host-namespaces ipc \(PODMAN_TRACKER_ALLOW_HOST_NAMESPACES=ipc\)$/],
    ['uts=host', ext({ uts: 'host' }), /^the host's uts namespace .* --allow-host-namespaces uts /],
    ['pid=host', ext({ pid: 'host' }), /^the host's pid namespace .* --allow-host-namespaces pid /],
    ['net=host', ext({ net: 'host' }), /^the host's net namespace \(extension net=host\) is not allowed on this worker: start it with --allow-host-namespaces net \(PODMAN_TRACKER_ALLOW_HOST_NAMESPACES=net\)$/],
    ['pid=ns:/proc/1/ns/pid', ext({ pid: 'ns:/proc/1/ns/pid' }), /^a pid namespace outside the job's container .* --allow-host-namespaces pid /],
    ['net=container:other', ext({ net: 'container:other' }), /^a net namespace outside the job's container .* --allow-host-namespaces net /],
    ['ipc=container:other', ext({ ipc: 'container:other' }), /--allow-host-namespaces ipc /],
    ['net=pasta:--map-gw', ext({ net: 'pasta:--map-gw' }), /^a network mode with options .* --allow-host-namespaces net /],
    ['stageInFiles', request({ stageInFiles: { '/srv': '/data' } }), /^bind mounts \(stageInFiles\) are not allowed on this worker: start it with --allow-bind-mounts \(PODMAN_TRACKER_ALLOW_BIND_MOUNTS=1\), or with --mount-allow DIR \(PODMAN_TRACKER_MOUNT_ALLOW=DIR\)/],
    ['gpus', ext({ gpus: 'all' }), /^GPUs \(extension gpus\) are not allowed on this worker: start it with --allow-gpus \(PODMAN_TRACKER_ALLOW_GPUS=1\)$/],
  ]; // prettier-ignore

  it.each(cases)('%s', async (_name, create, message) => {
    expect(await verdict(create)).toMatch(message);
  });

  it('names every refused power at once', async () => {
    const msg = await verdict({
      stageInFiles: { '/srv': '/data' },
      extension: { extensionList: { privileged: 'true', net: 'host', gpus: '1' } },
    });
    for (const option of ['--allow-privileged', '--allow-host-namespaces net', '--allow-bind-mounts', '--allow-gpus']) {
      expect(msg).toContain(option);
    }
  });

  it('lets through what stays in the container: own namespaces, named networks, limits, ports, users', async () => {
    for (const t of [
      {},
      ext({ privileged: 'false' }),
      ext({ ipc: 'private' }),
      ext({ ipc: 'shareable' }),
      ext({ ipc: 'none' }),
      ext({ uts: 'private', pid: 'private' }),
      ext({ net: 'none' }),
      ext({ net: 'bridge' }),
      ext({ net: 'slirp4netns' }),
      ext({ net: 'my-network' }),
      ext({
        user: 'root',
        exposedPorts: '8080:80',
        restart: 'always',
        rm: 'true',
        'shm-size': '64m',
        ulimit: 'nofile=10',
      }),
      request({ resourceLimits: { memory: '1g', cpus: '2', pids: '-1', OPEN_FILES: '99' }, minPhysMemory: 1024 }),
    ]) {
      expect(await verdict(t)).toBe('allowed');
    }
  });

  it('refuses a HostConfig field it does not know, so a new mapping cannot slip past it', async () => {
    const create = { Image: 'x', HostConfig: { CapAdd: ['SYS_ADMIN'] } };
    expect(await verdict(create as ReturnType<typeof request>)).toMatch(/HostConfig\.CapAdd is not known/);
  });

  it('knows every HostConfig field the mapping makes', () => {
    const everything = request({
      stageInFiles: { '/a': '/b' },
      resourceLimits: { memory: '1g', cpus: '1', pids: '10', CPU_TIME: '5' },
      minPhysMemory: 1,
      extension: {
        extensionList: {
          privileged: 'true', exposedPorts: '1:2', restart: 'always', ipc: 'host', uts: 'host', pid: 'host', rm: 'true',
          net: 'host', 'shm-size': '1m', ulimit: 'nofile=1', gpus: 'all', user: 'u', entrypoint: 'e',
        },
      },
    }); // prettier-ignore
    for (const key of Object.keys(everything.HostConfig ?? {})) expect(CLASSIFIED_HOST_CONFIG).toContain(key);
  });
});

describe('granted powers', () => {
  it('each power, once granted, lets its job through', async () => {
    expect(await verdict(ext({ privileged: 'true' }), { privileged: true })).toBe('allowed');
    expect(await verdict(ext({ net: 'host', ipc: 'host' }), { hostNamespaces: ['net', 'ipc'] })).toBe('allowed');
    expect(await verdict(ext({ gpus: '2' }), { gpus: true })).toBe('allowed');
    expect(await verdict(request({ stageInFiles: { '/anywhere': '/d' } }), { bindMounts: true })).toBe('allowed');
  });

  it('a namespace grant is for that namespace only', async () => {
    expect(await verdict(ext({ net: 'host', pid: 'host' }), { hostNamespaces: ['net'] })).toMatch(
      /^the host's pid namespace/,
    );
  });
});

describe('mount allow-list', () => {
  let root: string;
  let allowed: string;
  const mount = (source: string) => request({ stageInFiles: { [source]: '/data' } });
  const inAllowed = () => ({ bindMounts: true, mountAllow: [allowed] });

  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'pt-powers-')));
    allowed = join(root, 'data');
    await mkdir(join(allowed, 'sub'), { recursive: true });
    await mkdir(join(root, 'data-evil'));
    await mkdir(join(root, 'secret'));
    await writeFile(join(allowed, 'file.txt'), 'x');
    await symlink(join(root, 'secret'), join(allowed, 'escape'));
    await symlink(join(allowed, 'sub'), join(root, 'link-in'));
    await symlink(allowed, join(root, 'allowed-link'));
  });

  it('allows the directory itself and what lies in it', async () => {
    for (const p of [allowed, join(allowed, 'sub'), join(allowed, 'file.txt'), `${allowed}/sub/`]) {
      expect(await verdict(mount(p), inAllowed()), p).toBe('allowed');
    }
  });

  it('matches whole path components: a sibling with the same prefix is outside', async () => {
    expect(await verdict(mount(join(root, 'data-evil')), inAllowed())).toMatch(
      /is outside the directories this worker mounts .*: add one with --mount-allow \(PODMAN_TRACKER_MOUNT_ALLOW\)/,
    );
  });

  it('refuses .. escapes', async () => {
    expect(await verdict(mount(`${allowed}/../secret`), inAllowed())).toMatch(/is outside/);
    expect(await verdict(mount(`${allowed}/sub/../../secret`), inAllowed())).toMatch(/is outside/);
  });

  it('resolves symlinks: one that leads out is refused, one that leads in is allowed', async () => {
    expect(await verdict(mount(join(allowed, 'escape')), inAllowed())).toMatch(
      new RegExp(`${join(allowed, 'escape')} \\(that is ${join(root, 'secret')}\\) is outside`),
    );
    expect(await verdict(mount(join(root, 'link-in')), inAllowed())).toBe('allowed');
  });

  it('an allowed directory given through a symlink is the directory it names', async () => {
    const viaLink = { bindMounts: true, mountAllow: [join(root, 'allowed-link')] };
    expect(await verdict(mount(join(allowed, 'sub')), viaLink)).toBe('allowed');
    expect(await verdict(mount(join(root, 'secret')), viaLink)).toMatch(/is outside/);
  });

  it('refuses a source it cannot resolve on the worker host: it cannot be judged', async () => {
    expect(await verdict(mount(join(allowed, 'missing')), inAllowed())).toMatch(
      /cannot be resolved on the worker's host \(missing, or not readable by the worker\), so it cannot be held against --mount-allow/,
    );
  });

  it('without an allow-list, --allow-bind-mounts allows any source', async () => {
    expect(await verdict(mount(join(root, 'secret')), { bindMounts: true })).toBe('allowed');
  });
});

describe('image allow-list', () => {
  it('matches `*` against any run of characters, and everything else literally', () => {
    expect(imageMatches('localhost/podman-tracker/*', 'localhost/podman-tracker/busybox:latest')).toBe(true);
    expect(imageMatches('localhost/podman-tracker/*', 'localhost/podman-tracker-evil/busybox')).toBe(false);
    expect(imageMatches('quay.io/*', 'quay.io/org/img@sha256:abc')).toBe(true);
    expect(imageMatches('quay.io/*', 'quay.io.evil.example/img')).toBe(false);
    expect(imageMatches('docker.io/library/busybox:1.*', 'docker.io/library/busybox:1.36')).toBe(true);
    expect(imageMatches('busybox', 'busybox:latest')).toBe(false);
    expect(imageMatches('a.b', 'aXb')).toBe(false);
  });

  it('refuses an image that matches no pattern, and names the option', async () => {
    const powers = { imageAllow: ['localhost/podman-tracker/*', 'quay.io/*'] };
    expect(await verdict({ jobCategory: 'localhost/podman-tracker/busybox:latest' }, powers)).toBe('allowed');
    expect(await verdict({ jobCategory: 'docker.io/library/alpine' }, powers)).toBe(
      'image docker.io/library/alpine matches none of this worker\'s allowed images (localhost/podman-tracker/*, quay.io/*): add a pattern with --image-allow (PODMAN_TRACKER_IMAGE_ALLOW)', // prettier-ignore
    );
  });

  it('an empty list allows any image', async () => {
    expect(await verdict({ jobCategory: 'anything/at:all' })).toBe('allowed');
  });
});

describe('settings: flags and variables', () => {
  it('grants nothing when nothing is set', () => {
    expect(powersFromEnv({})).toEqual(NO_POWERS);
    expect(describePowers(NO_POWERS)).toBe('no host powers; any image');
  });

  it('reads every variable', () => {
    expect(
      powersFromEnv({
        PODMAN_TRACKER_ALLOW_PRIVILEGED: 'true',
        PODMAN_TRACKER_ALLOW_HOST_NAMESPACES: 'net, ipc',
        PODMAN_TRACKER_ALLOW_BIND_MOUNTS: '1',
        PODMAN_TRACKER_MOUNT_ALLOW: '/srv/a,/srv/b/',
        PODMAN_TRACKER_ALLOW_GPUS: 'TRUE',
        PODMAN_TRACKER_IMAGE_ALLOW: 'localhost/*, quay.io/*',
      }),
    ).toEqual({
      privileged: true,
      hostNamespaces: ['net', 'ipc'],
      bindMounts: true,
      mountAllow: ['/srv/a', '/srv/b'],
      gpus: true,
      imageAllow: ['localhost/*', 'quay.io/*'],
    });
    expect(powersFromEnv({ PODMAN_TRACKER_ALLOW_HOST_NAMESPACES: 'all' }).hostNamespaces).toEqual([
      'ipc',
      'uts',
      'pid',
      'net',
    ]);
    expect(powersFromEnv({ PODMAN_TRACKER_ALLOW_PRIVILEGED: 'false', PODMAN_TRACKER_ALLOW_GPUS: '0' })).toEqual(
      NO_POWERS,
    );
  });

  it('a mount allow-list grants bind mounts, in those directories', () => {
    expect(powersFromEnv({ PODMAN_TRACKER_MOUNT_ALLOW: '/srv' })).toMatchObject({
      bindMounts: true,
      mountAllow: ['/srv'],
    });
  });

  it('refuses what it cannot read, rather than grant or refuse by accident', () => {
    const bad = (env: NodeJS.ProcessEnv) => {
      try {
        powersFromEnv(env);
        return 'accepted';
      } catch (e) {
        return e instanceof DrmaaError ? `${e.kind}: ${e.message}` : String(e);
      }
    };
    expect(bad({ PODMAN_TRACKER_ALLOW_PRIVILEGED: 'yes please' })).toBe('InvalidArgument: --allow-privileged (PODMAN_TRACKER_ALLOW_PRIVILEGED): "yes please" is not true or false');
    expect(bad({ PODMAN_TRACKER_ALLOW_HOST_NAMESPACES: 'user' })).toMatch(/^InvalidArgument: --allow-host-namespaces \(PODMAN_TRACKER_ALLOW_HOST_NAMESPACES\): "user" is not a namespace \(ipc, uts, pid, net or all\)/);
    expect(bad({ PODMAN_TRACKER_MOUNT_ALLOW: 'relative/dir' })).toMatch(/--mount-allow \(PODMAN_TRACKER_MOUNT_ALLOW\): "relative\/dir" is not an absolute path/);
    expect(bad({ PODMAN_TRACKER_IMAGE_ALLOW: 'a b' })).toMatch(/--image-allow \(PODMAN_TRACKER_IMAGE_ALLOW\): "a b" is not an image pattern/);
  }); // prettier-ignore

  it('flags add to the variables; a list given replaces theirs', () => {
    const env = powersFromEnv({ PODMAN_TRACKER_ALLOW_HOST_NAMESPACES: 'net', PODMAN_TRACKER_IMAGE_ALLOW: 'a/*' });
    expect(workerPowers({ allowPrivileged: true, allowHostNamespaces: 'ipc', imageAllow: ['b/*'] }, env)).toEqual({
      ...NO_POWERS,
      privileged: true,
      hostNamespaces: ['net', 'ipc'],
      imageAllow: ['b/*'],
    });
    expect(workerPowers({}, env)).toEqual(env);
  });

  it('allowMountsIn adds a directory, and never narrows a grant of any source', () => {
    expect(allowMountsIn(NO_POWERS, '/w')).toEqual({ ...NO_POWERS, bindMounts: true, mountAllow: ['/w'] });
    const any = { ...NO_POWERS, bindMounts: true };
    expect(allowMountsIn(any, '/w')).toBe(any);
    expect(allowMountsIn({ ...any, mountAllow: ['/a'] }, '/w').mountAllow).toEqual(['/a', '/w']);
  });
});
