// The worker: hosts the job workflows and the Podman activities against one Podman connection,
// one Temporal namespace and one task queue. It also serves its host's own activity queue
// (`<task queue>@<host>`), so that a job's later activities reach the host that holds its container.
import { tlsFailure } from '../client/tls-probe.js';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { SshOptions } from '../activities/podman.js';
import {
  describeTemporal,
  temporalConnection,
  unreachableTemporal,
  type TemporalConnection,
  type TemporalFlags,
} from '../client/connection.js';
import { defaultConnectionUri, describeConnection, parseConnectionUri } from '../common/connection.js';
import { parseSwitch, positiveCount, wholeMs } from '../common/units.js';
import { encryptionKeysFromEnv } from '../common/data-converter.js';
import type { EncryptionKey } from '../common/encryption.js';
import { DrmaaError } from '../common/errors.js';
import {
  describePowers,
  NO_POWERS,
  powersFromEnv,
  workerPowers,
  type PowerSettings,
  type WorkerPowers,
} from '../common/powers.js';
import { PodmanTrackerPlugin } from './plugin.js';
import { workflowSource } from './workflow-code.js';

export interface WorkerConfig {
  podmanUri: string;
  /** Temporal's address, namespace, TLS and API key (see client/connection.ts). */
  temporal: TemporalConnection;
  taskQueue: string;
  /** The Podman host's name for queueName routing; default: the name Podman reports. */
  hostName?: string;
  disableImagePull: boolean;
  /** How long running activities get to finish on SIGINT/SIGTERM. */
  shutdownGraceMs: number;
  /** Workflow sources to bundle instead of the built bundle (tests with workflows of their own). */
  workflowsPath?: string;
  /** Host keys and login for an ssh:// Podman URI. */
  ssh?: SshOptions;
  /** What jobs may reach beyond their containers (see common/powers.ts); default: nothing. */
  powers?: WorkerPowers;
  /** Payload encryption keys, shared with the clients: the first encrypts; none: payloads in clear. */
  encryptionKeys?: readonly EncryptionKey[];

  // Load limits: how much of the work this worker takes on at once (default: Temporal's).
  /** Activities at once on each of its two task queues (a running job's wait holds one all along). */
  maxConcurrentActivities?: number;
  /** Workflow tasks at once. */
  maxConcurrentWorkflowTasks?: number;
  /** A running job's newest output goes to Temporal at most this often (ms); 0: no live output. */
  liveOutputIntervalMs?: number;
}

const switchFromEnv = (env: NodeJS.ProcessEnv, name: string) => parseSwitch(env[name] ?? '', name);

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    podmanUri: defaultConnectionUri(env),
    temporal: temporalConnection({}, env),
    taskQueue: env.PODMAN_TRACKER_TASK_QUEUE ?? 'podman-tracker',
    hostName: env.PODMAN_TRACKER_HOST_NAME || undefined,
    disableImagePull: switchFromEnv(env, 'PODMAN_TRACKER_DISABLE_IMAGE_PULL'),
    shutdownGraceMs: positiveCount(env.PODMAN_TRACKER_SHUTDOWN_GRACE_MS, 'PODMAN_TRACKER_SHUTDOWN_GRACE_MS') ?? 10_000,
    ssh: {
      knownHostsFile: env.PODMAN_TRACKER_SSH_KNOWN_HOSTS || undefined,
      trustOnFirstUse: switchFromEnv(env, 'PODMAN_TRACKER_SSH_TOFU'),
      // Podman's own clients read CONTAINER_SSHKEY and SSH_AUTH_SOCK.
      identityFile: env.CONTAINER_SSHKEY || undefined,
      identityPassphrase: env.CONTAINER_SSHKEY_PASSPHRASE || undefined,
      agentSocket: env.SSH_AUTH_SOCK || undefined,
    },
    powers: powersFromEnv(env),
    encryptionKeys: encryptionKeysFromEnv(env),
    liveOutputIntervalMs: wholeMs(env.PODMAN_TRACKER_LIVE_OUTPUT_MS, 'PODMAN_TRACKER_LIVE_OUTPUT_MS'),
    ...loadLimitsFromEnv(env),
  };
}

function loadLimitsFromEnv(
  env: NodeJS.ProcessEnv,
): Pick<WorkerConfig, 'maxConcurrentActivities' | 'maxConcurrentWorkflowTasks'> {
  const activities = 'PODMAN_TRACKER_MAX_CONCURRENT_ACTIVITIES';
  const workflowTasks = 'PODMAN_TRACKER_MAX_CONCURRENT_WORKFLOW_TASKS';
  return {
    maxConcurrentActivities: positiveCount(env[activities], activities),
    maxConcurrentWorkflowTasks: positiveCount(env[workflowTasks], workflowTasks),
  };
}

/**
 * The worker's flags, each over its variable: `worker/main.ts` and `podman-tracker worker` take these.
 * The power flags are named as PowerSettings names them (allowPrivileged, mountAllow, ...).
 */
export interface WorkerFlags extends PowerSettings, TemporalFlags {
  podman?: string;
  taskQueue?: string;
  hostName?: string;
  disableImagePull?: boolean;
  identity?: string;
  sshKnownHosts?: string;
  sshTofu?: boolean;
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
}

/** The worker's configuration: flags over variables; Temporal's flags over variables over the profile. */
export function workerConfig(f: WorkerFlags = {}, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return { ...withFlags(configFromEnv(env), f), temporal: temporalConnection(f, env) };
}

/** Flags over a configuration, but Temporal's connection (for which see workerConfig). */
export function withFlags(base: WorkerConfig, f: WorkerFlags): WorkerConfig {
  return {
    ...base,
    podmanUri: f.podman ?? base.podmanUri,
    taskQueue: f.taskQueue ?? base.taskQueue,
    hostName: f.hostName ?? base.hostName,
    disableImagePull: f.disableImagePull ?? base.disableImagePull,
    ssh: {
      ...base.ssh,
      identityFile: f.identity ?? base.ssh?.identityFile,
      knownHostsFile: f.sshKnownHosts ?? base.ssh?.knownHostsFile,
      trustOnFirstUse: f.sshTofu ?? base.ssh?.trustOnFirstUse,
    },
    // Flags that grant add to what the variables grant; an allow-list given replaces theirs.
    powers: workerPowers(f, base.powers ?? NO_POWERS),
    maxConcurrentActivities: f.maxConcurrentActivities ?? base.maxConcurrentActivities,
    maxConcurrentWorkflowTasks: f.maxConcurrentWorkflowTasks ?? base.maxConcurrentWorkflowTasks,
  };
}

export interface PodmanTrackerWorker {
  readonly hostName: string;
  /** Runs until shutdown() or SIGINT/SIGTERM, then lets running activities finish within the grace time. */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createWorker(config: WorkerConfig, connection?: NativeConnection): Promise<PodmanTrackerWorker> {
  const plugin = new PodmanTrackerPlugin({
    podman: config.podmanUri,
    ssh: config.ssh,
    hostName: config.hostName,
    disableImagePull: config.disableImagePull,
    powers: config.powers ?? NO_POWERS,
    encryptionKey: config.encryptionKeys,
    liveOutputIntervalMs: config.liveOutputIntervalMs,
  });
  // Podman is asked its name first: an unreachable Podman fails here, not at the first job.
  const hostName = await plugin.hostName();
  const t = config.temporal;
  const conn =
    connection ??
    (await NativeConnection.connect({ address: t.address, tls: t.tls, apiKey: t.apiKey, metadata: t.metadata }).catch(
      async (err: unknown) => {
        throw unreachableTemporal(t, err, t.tls ? await tlsFailure(t) : undefined);
      },
    ));
  try {
    const worker = await Worker.create({
      connection: conn,
      namespace: t.namespace,
      taskQueue: config.taskQueue,
      plugins: [plugin],
      shutdownGraceTime: config.shutdownGraceMs,
      maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
      // Jobs are created (and short ones watched) by local activities: the same limit holds for them.
      maxConcurrentLocalActivityExecutions: config.maxConcurrentActivities,
      maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTasks,
      ...workflowSource(config.workflowsPath),
    });
    return {
      hostName,
      async run() {
        try {
          await worker.run();
        } finally {
          if (!connection) await conn.close();
        }
      },
      shutdown() {
        // Between run() and the plugin's start of the host queue's worker, the worker is not running yet.
        const stop = () => {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          else if (worker.getState() === 'INITIALIZED') setTimeout(stop, 20);
        };
        stop();
      },
    };
  } catch (err) {
    if (!connection) await conn.close();
    throw err;
  }
}

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** The worker's log level from PODMAN_TRACKER_LOG_LEVEL (default INFO: a few lines per job). */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const given = env.PODMAN_TRACKER_LOG_LEVEL ?? 'INFO';
  const level = given.toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new DrmaaError(
      'InvalidArgument',
      `PODMAN_TRACKER_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${given}"`,
    );
  }
  return level as LogLevel;
}

/** Runs a worker until SIGINT or SIGTERM (Temporal's Worker.run handles both and drains gracefully). */
export async function runWorker(config: WorkerConfig, logLevel: LogLevel = logLevelFromEnv()): Promise<void> {
  // Before anything connects: the runtime is made once, with its logger.
  Runtime.install({ logger: new DefaultLogger(logLevel) });
  const worker = await createWorker(config);
  console.log(
    `podman-tracker worker: Podman ${shown(config)} (host ${worker.hostName}), Temporal ${describeTemporal(config.temporal)}, ` +
      `task queue ${config.taskQueue} and ${config.taskQueue}@${worker.hostName}\n` +
      `  grants: ${describePowers(config.powers ?? NO_POWERS)}\n` +
      `  payload encryption: ${config.encryptionKeys?.[0] ? `on (key ${config.encryptionKeys[0].id})` : 'off'}`,
  );
  await worker.run();
}

/** The Podman URI without the password an ssh:// URI may carry. */
function shown(config: WorkerConfig): string {
  return describeConnection(parseConnectionUri(config.podmanUri));
}
