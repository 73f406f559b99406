// What PodmanTrackerPlugin contributes to a worker, a bundle and a client (without running them:
// the consumer and integration tests run workers on it against the real stack).
import type { WorkerOptions } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { EncryptionCodec } from '../../common/encryption.js';
import { PodmanTrackerPlugin } from '../../worker/plugin.js';
import { workflowInterceptorModules } from '../../worker/workflow-code.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base: WorkerOptions = { taskQueue: 'q', workflowsPath: '/app/workflows.js' };

describe('PodmanTrackerPlugin', () => {
  it("adds the Podman and array-task activities beside the worker's own, and the interceptors once", () => {
    const plugin = new PodmanTrackerPlugin({ podman: 'unix:///nowhere.sock' });
    const mine = { myActivity: async () => 1 };
    const o = plugin.configureWorker({ ...base, activities: mine });
    const names = Object.keys(o.activities ?? {});
    for (const n of ['createAndStartContainer', 'waitAndCollect', 'killJob', 'startTasks', 'myActivity'])
      expect(names).toContain(n);
    expect(o.interceptors?.workflowModules).toEqual(workflowInterceptorModules());
    const twice = plugin.configureWorker(o);
    expect(twice.interceptors?.workflowModules).toEqual(workflowInterceptorModules());
  });

  it('puts the interceptors into a bundle and a replayer', () => {
    const plugin = new PodmanTrackerPlugin({ podman: 'unix:///nowhere.sock' });
    const b = plugin.configureBundler({
      workflowsPath: '/app/workflows.js',
      workflowInterceptorModules: ['/app/mine.js'],
    });
    expect(b.workflowInterceptorModules).toEqual(['/app/mine.js', ...workflowInterceptorModules()]);
    const r = plugin.configureReplayWorker({ workflowsPath: '/app/workflows.js' });
    expect(r.interceptors?.workflowModules).toEqual(workflowInterceptorModules());
  });

  it('encrypts payloads with a key given, for workers and clients alike; none: Temporal default', () => {
    const on = new PodmanTrackerPlugin({ podman: 'unix:///nowhere.sock', encryptionKey: KEY });
    expect(on.configureWorker(base).dataConverter?.payloadCodecs?.[0]).toBeInstanceOf(EncryptionCodec);
    expect(on.configureClient({}).dataConverter?.payloadCodecs?.[0]).toBeInstanceOf(EncryptionCodec);
    const off = new PodmanTrackerPlugin({ podman: 'unix:///nowhere.sock' });
    expect(off.configureClient({}).dataConverter?.payloadCodecs ?? []).toEqual([]);
  });

  it('grants no power unless given, and takes them by the worker flags’ names', () => {
    expect(new PodmanTrackerPlugin({ podman: 'unix:///x.sock' }).powers).toMatchObject({
      privileged: false,
      bindMounts: false,
    });
    const p = new PodmanTrackerPlugin({ podman: 'unix:///x.sock', allowPrivileged: true, mountAllow: ['/srv/data'] });
    expect(p.powers).toMatchObject({ privileged: true, bindMounts: true, mountAllow: ['/srv/data'] });
  });

  it('refuses a bad Podman URI or key at once, as InvalidArgument', () => {
    expect(() => new PodmanTrackerPlugin({ podman: 'unix://host/x' })).toThrow(
      expect.objectContaining({ kind: 'InvalidArgument' }),
    );
    expect(() => new PodmanTrackerPlugin({ podman: 'unix:///x.sock', encryptionKey: 'short' })).toThrow(
      expect.objectContaining({ kind: 'InvalidArgument' }),
    );
  });
});
