// PodmanTrackerPlugin: podman-tracker in a Temporal user's own workers and clients, on
// @temporalio/plugin's SimplePlugin. `podman-tracker worker` is built on it too.
//
// Worker.create({ plugins: [plugin] }) gets the Podman activities, the data converter and the
// workflow interceptors; worker.run() also serves the host's own activity queue
// (`<task queue>@<host>`), where a job's activities after creation go. Workflows cannot come from
// a plugin in the TypeScript SDK: the user's workflows file re-exports `podman-tracker/workflows`.
import { SimplePlugin } from '@temporalio/plugin';
import type { DataConverter } from '@temporalio/common';
import type { BundleOptions, ReplayWorkerOptions, Worker, WorkerInterceptors, WorkerOptions } from '@temporalio/worker';
import type Docker from 'dockerode';
import { createActivities } from '../activities/index.js';
import { createTaskActivities } from '../activities/tasks.js';
import { startRemovals, type Removals } from '../activities/removals.js';
import { Client } from '@temporalio/client';
import { connect, disconnect } from '../activities/podman.js';
import type { SshOptions } from '../activities/ssh.js';
import { defaultConnectionUri, describeConnection, parseConnectionUri } from '../common/connection.js';
import { dataConverterFor } from '../common/data-converter.js';
import { parseKeys, type EncryptionKey } from '../common/encryption.js';
import { DrmaaError } from '../common/errors.js';
import { NO_POWERS, workerPowers, type PowerSettings, type WorkerPowers } from '../common/powers.js';
import { hostQueue } from '../workflows/definitions.js';
import { workflowInterceptorModules } from './workflow-code.js';

export interface PodmanTrackerPluginOptions extends PowerSettings {
  /** Podman connection URI: unix:///path, tcp://host:port, ssh://user@host[:port]/path (default: the local socket). */
  podman?: string;
  /** Host keys and login for an ssh:// URI. */
  ssh?: SshOptions;
  /** This Podman host's name for queueName routing (default: the name Podman reports). */
  hostName?: string;
  /** Never pull: a missing image is an error. */
  disableImagePull?: boolean;
  /** Powers as a whole (else the PowerSettings fields: allowPrivileged, mountAllow, ...); none by default. */
  powers?: WorkerPowers;
  /** Payload encryption: base64 keys, comma-separated (the first encrypts), or parsed keys. Clients need the same. */
  encryptionKey?: string | readonly EncryptionKey[];
  /**
   * Serve `<task queue>@<host>` beside the worker's own queue (default true). Turn it off only
   * when another worker on this host serves it: without it, jobs never get past creation.
   */
  serveHostQueue?: boolean;
  /**
   * Live output: a running job's newest output goes to Temporal at most this often, in the
   * heartbeats of the activity that watches it, for `podman-tracker run` and `logs --follow`
   * (default 250 ms; 0: off).
   */
  liveOutputIntervalMs?: number;
}

const NAME = 'podman-tracker';
/** Workers this plugin made for a host queue: they run without a host queue of their own. */
const hostQueueWorkers = new WeakSet<Worker>();

export class PodmanTrackerPlugin extends SimplePlugin {
  readonly podmanUri: string;
  readonly powers: WorkerPowers;
  private readonly settings: PodmanTrackerPluginOptions;
  private docker?: Docker;
  private running = 0;
  private host?: Promise<string>;
  private activities?: ReturnType<typeof createActivities>;
  private removals?: Removals;

  constructor(options: PodmanTrackerPluginOptions = {}) {
    const keys = typeof options.encryptionKey === 'string' ? parseKeys(options.encryptionKey) : options.encryptionKey;
    super({ name: NAME, dataConverter: dataConverterFor(keys) });
    this.settings = options;
    this.podmanUri = options.podman ?? defaultConnectionUri();
    parseConnectionUri(this.podmanUri); // a bad URI is InvalidArgument now, not at the first job
    this.powers = options.powers ?? workerPowers(options, NO_POWERS);
  }

  /** The data converter that clients and workers of these jobs must share. */
  get dataConverter(): DataConverter {
    return this.options.dataConverter as DataConverter;
  }

  /** The Podman connection, made at the first worker and closed when the last worker using it ends. */
  private podman(): Docker {
    this.docker ??= connect(this.podmanUri, this.settings.ssh);
    return this.docker;
  }

  private podmanActivities() {
    this.activities ??= createActivities({
      docker: this.podman(),
      disableImagePull: this.settings.disableImagePull,
      hostName: this.settings.hostName,
      powers: this.powers,
      liveOutputIntervalMs: this.settings.liveOutputIntervalMs,
    });
    return this.activities;
  }

  /** The Podman host's name, which names its activity queue; asks Podman once. */
  hostName(): Promise<string> {
    this.host ??= resolveHostName(this.podman(), this.settings.hostName, this.podmanUri).catch((err: unknown) => {
      this.host = undefined;
      throw err;
    });
    return this.host;
  }

  override configureWorker(options: WorkerOptions): WorkerOptions {
    const configured = super.configureWorker(options);
    return {
      ...configured,
      // The array job's local activities (starting its tasks) run where its workflow does.
      activities: { ...createTaskActivities(), ...this.podmanActivities(), ...configured.activities },
      interceptors: withInterceptorModules(configured.interceptors, configured.workflowsPath !== undefined),
    };
  }

  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    const configured = super.configureReplayWorker(options);
    return {
      ...configured,
      interceptors: withInterceptorModules(configured.interceptors, configured.workflowsPath !== undefined),
    };
  }

  /** bundleWorkflowCode({ plugins: [plugin] }) puts the workflow interceptors in the bundle. */
  override configureBundler(options: BundleOptions): BundleOptions {
    const mods = options.workflowInterceptorModules ?? [];
    return {
      ...options,
      workflowInterceptorModules: [...mods, ...workflowInterceptorModules().filter((m) => !mods.includes(m))],
    };
  }

  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    if (hostQueueWorkers.has(worker)) return next(worker);
    this.running++;
    try {
      const host = await this.hostName();
      // `rm` containers go once their jobs' workflows have closed (activities/removals.ts).
      const o = worker.options;
      this.removals ??= startRemovals(
        this.podman(),
        new Client({ connection: worker.connection, namespace: o.namespace, dataConverter: o.dataConverter }),
      );
      if (this.settings.serveHostQueue === false) return await next(worker);
      await runBeside(worker, next, await this.hostQueueWorker(worker, host));
    } finally {
      if (--this.running === 0 && this.docker) {
        this.removals?.stop();
        this.removals = undefined;
        disconnect(this.docker);
        this.docker = undefined;
        this.activities = undefined;
      }
    }
  }

  /** A worker for `<task queue>@<host>`: the same connection, namespace, converter and limits. */
  private async hostQueueWorker(main: Worker, host: string): Promise<Worker> {
    const { Worker } = await import('@temporalio/worker');
    const o = main.options;
    const w = await Worker.create({
      connection: main.connection,
      namespace: o.namespace,
      taskQueue: hostQueue(o.taskQueue, host),
      identity: `${o.identity}@${host}`,
      activities: this.podmanActivities(),
      dataConverter: o.dataConverter,
      shutdownGraceTime: o.shutdownGraceTimeMs,
      maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions,
    });
    hostQueueWorkers.add(w);
    return w;
  }
}

/** Runs both until either ends, then stops the other; the first failure is rethrown. */
async function runBeside(main: Worker, next: (w: Worker) => Promise<void>, side: Worker): Promise<void> {
  const stop = (w: Worker) => {
    if (w.getState() === 'RUNNING') w.shutdown();
  };
  const results = await Promise.allSettled([
    next(main).finally(() => stop(side)),
    side.run().finally(() => stop(main)),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The interceptor modules appended once, where the worker bundles (a prebuilt bundle has them). */
function withInterceptorModules(
  interceptors: WorkerInterceptors | undefined,
  bundlesHere: boolean,
): WorkerInterceptors | undefined {
  if (!bundlesHere) return interceptors;
  const mods = interceptors?.workflowModules ?? [];
  return {
    ...interceptors,
    workflowModules: [...mods, ...workflowInterceptorModules().filter((m) => !mods.includes(m))],
  };
}

async function resolveHostName(docker: Docker, given: string | undefined, uri: string): Promise<string> {
  const name =
    given ??
    (await docker.info().then(
      (i: { Name?: string }) => i.Name ?? 'podman',
      (err: unknown) => {
        // A refused host key or login keeps its own kind and words.
        if (err instanceof DrmaaError) throw err;
        const shown = describeConnection(parseConnectionUri(uri));
        throw new DrmaaError('DrmCommunication', `cannot reach Podman at ${shown}: ${String(err)}`);
      },
    ));
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new DrmaaError('InvalidArgument', `host name "${name}" may hold only letters, digits, '_', '.', '-'`);
  }
  return name;
}
