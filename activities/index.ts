// Temporal activities: each wraps one Podman operation and is safe to run again after a crash or
// a retry. Workflows call them through proxyActivities<PodmanActivities>().
import { Context, log } from '@temporalio/activity';
import type Docker from 'dockerode';
import { access, constants, open, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { LABEL, toContainerRequest, type ContainerRequest, type JobContext } from '../common/convert.js';
import { DrmaaError, invalidState, jobNotExists } from '../common/errors.js';
import { checkPowers, NO_POWERS, type WorkerPowers } from '../common/powers.js';
import { isEndState, type JobState } from '../common/states.js';
import { parseJobTemplate, type JobInfo, type JobTemplateInput } from '../common/template.js';
import { DEFAULT_LIVE_INTERVAL_MS } from '../common/live-output.js';
import { eventHubOf } from './events.js';
import { captureOutput, followLiveOutput } from './live-output.js';
import { KEPT_FOR_OUTPUT } from './removals.js';
import { jobInfoOf, jobStateOf, willRestart } from './jobinfo.js';
import { taskEndedSignal } from '../workflows/definitions.js';
import { isExitRace, isNotFound, podmanMessage, statusOf, toDrmaaError } from './podman.js';
import { attachStdin, feedStdin, makeParentDirs, readLogs, writeOutputFiles, type JobOutput } from './streams.js';

export type { JobOutput } from './streams.js';

export interface PodmanActivityOptions {
  docker: Docker;
  /** Never pull: a missing image is an error (the Go tracker's DisableImagePull, made to work). */
  disableImagePull?: boolean;
  /** Bytes of stdout and of stderr a job result carries (the files get everything). */
  logLimitBytes?: number;
  /** The name of this Podman host, as jobs' queueName and the worker's host task queue know it. */
  hostName?: string;
  /** What jobs may reach beyond their containers; default: nothing (see common/powers.ts). */
  powers?: WorkerPowers;
  /**
   * Live output: a running job's newest output goes to Temporal at most this often, in the
   * heartbeats of the activity that watches it (common/live-output.ts); 0 turns it off.
   */
  liveOutputIntervalMs?: number;
}

export interface SubmitJobInput extends JobContext {
  template: JobTemplateInput;
}

/** A job's container: by the ID the workflow remembers, or found by the job ID label. */
export interface ContainerRef {
  jobId: string;
  containerId?: string;
}

export interface StartedContainer {
  containerId: string;
  name: string;
  /** The Podman host that holds the container: later activities of the job go to its worker. */
  host: string;
  /** When the container started (for a retry that found it running: when it was found). */
  dispatchTime: string;
}

export interface JobStatus {
  state: JobState;
  subState: string;
  info?: JobInfo;
}

/** Host files for the job's output (see JobTemplate outputPath, errorPath, joinFiles). */
export interface OutputFiles {
  outputPath?: string;
  errorPath?: string;
  joinFiles?: boolean;
}

export interface JobResult extends JobStatus {
  output?: JobOutput;
}

/** An array task's array job, told the moment the task's container ends (see waitAndCollect). */
export interface ArrayTaskRef {
  arrayJobId: string;
  taskNumber: number;
}

/** The first moments of a job's wait, done by the call that creates it (see createAndStartContainer). */
export interface QuickWatch {
  files: OutputFiles;
  task?: ArrayTaskRef;
  withinMs: number;
}

export interface CreatedContainer extends StartedContainer {
  /** How the first wait ended; absent when it was not asked for or failed. */
  quick?: WaitAndCollectResult;
}

export interface WaitAndCollectResult {
  /** How the wait ended: an end state, or `undetermined` when the container vanished. */
  ended: JobStatus;
  /** The collected result; absent when the container vanished. */
  collected?: JobResult;
  /** Whether the array job has been told of the task's end. */
  told: boolean;
}

export interface SessionJob {
  jobId: string;
  containerId: string;
  state: JobState;
  subState: string;
}

const DEFAULT_LOG_LIMIT = 1024 * 1024;
/**
 * `rm` is honoured by removing the container once the job's workflow has closed (activities/removals.ts),
 * not by Podman's auto-remove (a container that removes itself while the worker is down takes the job's
 * exit status with it), nor when its result is collected (a collection whose report is lost runs again).
 */
const RM_LABEL = LABEL.rm;
/** How long an exited container under a restart policy has to come back before its exit is final. */
const RESTART_GRACE_MS = 3000;
/** Signals sent to a container that keeps exiting before the signal lands, restarted each time. */
const KILL_ATTEMPTS = 5;
/**
 * Looks at a container that Podman 4.3 fails to inspect as its process exits (see isExitRace): the
 * pause doubles from 50 ms, so a loaded machine has 1.5 s before the error is passed on.
 */
const EXIT_RACE_LOOKS = 6;
const EXIT_RACE_FIRST_PAUSE_MS = 50;

/** Running or paused: a container a signal can reach. */
const isLive = (c: Docker.ContainerInspectInfo) => c.State.Running || c.State.Paused;
/** One run of a container: a restart by its policy begins another. */
const runOf = (c: Docker.ContainerInspectInfo) => `${c.RestartCount ?? 0} ${c.State.StartedAt}`;

/**
 * Heartbeats while some work runs, so that a worker that dies mid-activity is noticed within the
 * heartbeat timeout rather than the (long) start-to-close timeout, and its activity is retried.
 */
async function withHeartbeat<T>(work: () => Promise<T>, details?: () => unknown): Promise<T> {
  const ctx = Context.current();
  // A local activity has no heartbeat: the workflow task it runs in is kept alive instead.
  if (ctx.info.isLocal) return work();
  const beat = setInterval(() => ctx.heartbeat(details?.()), 2000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

export function createActivities(opts: PodmanActivityOptions) {
  const docker = opts.docker;
  const events = eventHubOf(docker);
  const logLimit = opts.logLimitBytes ?? DEFAULT_LOG_LIMIT;
  const liveInterval = opts.liveOutputIntervalMs ?? DEFAULT_LIVE_INTERVAL_MS;
  let hostName: Promise<string> | undefined;
  const podmanHost = () =>
    (hostName ??= opts.hostName
      ? Promise.resolve(opts.hostName)
      : docker.info().then(
          (i: { Name?: string }) => i.Name ?? 'podman',
          () => {
            hostName = undefined;
            return 'podman';
          },
        ));

  async function findContainer(jobId: string): Promise<Docker.ContainerInfo | undefined> {
    try {
      const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL.job}=${jobId}`] } });
      return list[0];
    } catch (err) {
      throw toDrmaaError(err, 'Internal', `listing the container of job ${jobId}`);
    }
  }

  /** Inspects the job's container; undefined when there is none. */
  async function inspect(ref: ContainerRef): Promise<Docker.ContainerInspectInfo | undefined> {
    const id = ref.containerId ?? (await findContainer(ref.jobId))?.Id;
    if (!id) return undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await docker.getContainer(id).inspect();
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (isExitRace(err) && attempt < EXIT_RACE_LOOKS) {
          await new Promise((r) => setTimeout(r, EXIT_RACE_FIRST_PAUSE_MS * 2 ** (attempt - 1)));
          continue;
        }
        throw toDrmaaError(err, 'Internal', `inspecting the container of job ${ref.jobId}`);
      }
    }
  }

  async function mustInspect(ref: ContainerRef): Promise<Docker.ContainerInspectInfo> {
    const c = await inspect(ref);
    if (!c) throw jobNotExists(ref.jobId);
    return c;
  }

  async function status(c: Docker.ContainerInspectInfo | undefined): Promise<JobStatus> {
    if (!c) return { state: 'undetermined', subState: 'containerNotFound' };
    return { ...jobStateOf(c), info: jobInfoOf(c, await podmanHost()) };
  }

  async function pullImage(image: string): Promise<void> {
    if (opts.disableImagePull) {
      throw new DrmaaError(
        'InvalidArgument',
        `image ${image} is not present on the Podman host and image pulls are disabled`,
      );
    }
    let stream: Readable;
    try {
      stream = (await docker.pull(image)) as Readable;
    } catch (err) {
      throw toDrmaaError(err, 'InvalidArgument', `pulling image ${image}`);
    }
    // A pull reports its failure inside a 200 response, as a progress event with an error.
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string }>) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new DrmaaError('InvalidArgument', `pulling image ${image}: ${failed}`));
        else resolve();
      }),
    );
  }

  /** The container an earlier attempt made for this job: by its derived name, or by its own name. */
  async function earlierContainer(jobId: string, derivedName: string, preferredName?: string) {
    for (const name of [derivedName, preferredName]) {
      if (!name) continue;
      try {
        const c = await docker.getContainer(name).inspect();
        if (c.Config.Labels?.[LABEL.job] === jobId) return c;
      } catch (err) {
        if (!isNotFound(err)) throw toDrmaaError(err, 'Internal', `looking up container ${name}`);
      }
    }
    return undefined;
  }

  async function nameInUse(name: string): Promise<boolean> {
    try {
      await docker.getContainer(name).inspect();
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw toDrmaaError(err, 'Internal', `looking up container name ${name}`);
    }
  }

  /**
   * The host files a job reads and writes, checked before its container exists: an output file that
   * cannot be written would otherwise fail only once the job has run, when collecting its result.
   */
  async function checkHostFiles(req: ContainerRequest): Promise<void> {
    if (req.inputPath) {
      const readable = await access(req.inputPath, constants.R_OK).then(
        async () => !(await stat(req.inputPath!)).isDirectory(),
        () => false,
      );
      if (!readable) {
        throw new DrmaaError('InvalidArgument', `inputPath ${req.inputPath} cannot be read on the worker's host`);
      }
    }
    const outputs = { outputPath: req.outputPath, errorPath: req.joinFiles ? undefined : req.errorPath };
    for (const [field, path] of Object.entries(outputs)) {
      if (!path) continue;
      try {
        await makeParentDirs(path);
        await (await open(path, 'a')).close(); // 'a': a file that exists keeps its content until the job ends
      } catch (err) {
        throw new DrmaaError(
          'InvalidArgument',
          `${field} ${path} cannot be written on the worker's host: ${(err as Error).message}`,
        );
      }
    }
  }

  /** A container made but never started (Podman's inspect asks the runtime, so a running one says so). */
  async function neverStarted(id: string): Promise<boolean> {
    const c = await inspect({ jobId: '', containerId: id }).catch(() => undefined);
    return !!c && c.State.Status === 'created' && c.State.StartedAt.startsWith('0001');
  }

  async function removeQuietly(id: string): Promise<void> {
    await docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }

  async function createAndStart(input: SubmitJobInput): Promise<StartedContainer> {
    const template = parseJobTemplate(input.template);
    const req = toContainerRequest(template, input);
    await checkHostFiles(req);
    if (template.extension?.extensionList?.rm && req.create.HostConfig?.AutoRemove) {
      req.create.HostConfig.AutoRemove = false;
      req.create.Labels = { ...req.create.Labels, [RM_LABEL]: 'true' };
    }

    const host = await podmanHost();
    // An earlier attempt's container is looked up first only when the job may have taken its own
    // name; under the derived name, create itself reports it (the name is taken) at no extra cost.
    let existing = req.preferredName
      ? await earlierContainer(input.jobId, req.derivedName, req.preferredName)
      : undefined;
    if (!existing) {
      // Only a container still to be made needs the powers: one an earlier attempt made is the job's.
      await checkPowers(req.create, opts.powers ?? NO_POWERS).catch(async (err: unknown) => {
        existing = await earlierContainer(input.jobId, req.derivedName, req.preferredName);
        if (!existing) throw err;
      });
    }
    if (!existing) {
      let name = req.preferredName && !(await nameInUse(req.preferredName)) ? req.preferredName : req.derivedName;
      const create = () => docker.createContainer({ ...req.create, name });
      for (let renamed = 0; ; renamed++) {
        try {
          let created: Docker.Container;
          try {
            created = await create();
          } catch (err) {
            if (nameTaken(err) && name === req.preferredName && name !== req.derivedName) {
              // Another job took the same job name just now: this one goes by its derived name.
              if ((existing = await earlierContainer(input.jobId, req.derivedName, req.preferredName))) throw err;
              name = req.derivedName;
              created = await create();
            } else {
              // No image check before every create: a missing image is the rare case, met here.
              if (statusOf(err) !== 404 || !/image/i.test(podmanMessage(err))) throw err;
              await pullImage(req.create.Image!);
              created = await create();
            }
          }
          log.info('container created', { jobId: input.jobId, container: name });
          return await start(created.id, name, host);
        } catch (err) {
          // A lost race with our own earlier attempt (same name, or found by its job label) is not an error.
          if (nameTaken(err)) {
            existing ??=
              (await earlierContainer(input.jobId, req.derivedName, req.preferredName)) ??
              (await inspect({ jobId: input.jobId }));
          }
          if (existing) break;
          // Podman killed between making a container's storage and recording the container: the
          // storage keeps the name, though Podman knows no such container and no API call removes
          // it (`podman rm --storage` does). The job's container takes another name; its job label
          // finds it from then on.
          if (renamed < 3 && nameTaken(err) && ORPHANED_STORAGE.test(podmanMessage(err))) {
            log.warn('a killed Podman left this name to container storage; using another', {
              jobId: input.jobId,
              name,
            });
            name = `${req.derivedName}-${renamed + 2}`;
            continue;
          }
          throw toDrmaaError(err, 'InvalidArgument', `creating the container of job ${input.jobId}`);
        }
      }
    }
    const name = existing.Name.replace(/^\//, '');
    if (existing.State.Status !== 'created' || existing.State.StartedAt.slice(0, 4) !== '0001') {
      log.info('container already started by an earlier attempt', { jobId: input.jobId, container: name });
      const dispatchTime = new Date(existing.State.StartedAt).toISOString();
      return { containerId: existing.Id, name, host, dispatchTime };
    }
    return start(existing.Id, name, host);

    async function start(containerId: string, name: string, host: string, replaced = false): Promise<StartedContainer> {
      // A deadline that passed while the image was pulled or the container made: the job is not
      // started, as one submitted past its deadline is not, and its container goes.
      if (template.deadlineTime && Date.parse(template.deadlineTime) <= Date.now()) {
        await removeQuietly(containerId);
        throw new DrmaaError(
          'Timeout',
          `the deadline of job ${input.jobId} (${template.deadlineTime}) passed before its container could start`,
        );
      }
      const container = docker.getContainer(containerId);
      let stdin: Socket | undefined;
      let capture: { stop(): void } | undefined;
      try {
        const input = req.inputPath ?? (req.stdin !== undefined ? Buffer.from(req.stdin, 'base64') : undefined);
        stdin = input !== undefined ? await attachStdin(docker, containerId) : undefined;
        // Live output has every byte from the first only if it is attached before the start.
        if (liveInterval > 0) capture = await captureOutput(docker, containerId);
        await container.start();
        if (stdin && input !== undefined) await feedStdin(stdin, input);
      } catch (err) {
        stdin?.destroy();
        capture?.stop();
        // Podman killed in the middle of an earlier start of this container left the runtime's
        // state or the network's address of it behind, and no start of it can succeed now. Its
        // process never ran (it is still created): a new container takes its place, once.
        if (!replaced && INTERRUPTED_START.test(podmanMessage(err)) && (await neverStarted(containerId))) {
          log.warn('replacing a container that an interrupted start left unstartable', {
            jobId: input.jobId,
            error: podmanMessage(err),
          });
          await checkPowers(req.create, opts.powers ?? NO_POWERS);
          await removeQuietly(containerId);
          const again = await docker.createContainer({ ...req.create, name }).catch((e: unknown) => {
            throw toDrmaaError(e, 'InvalidArgument', `creating the container of job ${input.jobId} again`);
          });
          return start(again.id, name, host, true);
        }
        const failure = toDrmaaError(err, startFailureKind(err), `starting the container of job ${input.jobId}`);
        // Podman refused the container (bad command, port taken...): leave nothing behind.
        if (failure.kind !== 'DrmCommunication') await removeQuietly(containerId);
        log.warn('container did not start', { jobId: input.jobId, error: failure.message });
        throw failure;
      }
      return { containerId, name, host, dispatchTime: new Date().toISOString() };
    }
  }

  /**
   * Collects an ended job's result: its JobInfo, its bounded output, and its output files on the
   * worker's host; then removes the container if the template asked for `rm`.
   */
  async function collect(ref: ContainerRef, files: OutputFiles = {}): Promise<JobResult> {
    // A look of its own, not the one that saw the exit: a container removed by hand is often still
    // there at the exit (its removal kills it) and gone by now, and only this look can tell.
    const c = await inspect(ref);
    if (!c) return { state: 'undetermined', subState: 'containerNotFound' };
    const s = await status(c);
    if (!isEndState(s.state)) throw invalidState(`job ${ref.jobId} is ${s.state}, not ended`);
    // Output files that cannot be written (a full disk, a folder the worker may not write) do not
    // lose the output: the job keeps its container, and its JobInfo says why.
    let filesFailed: DrmaaError | undefined;
    try {
      await writeOutputFiles(docker, c.Id, files);
    } catch (err) {
      // writeOutputFiles names a file it cannot write as a DrmaaError; anything else is Podman's.
      if (!(err instanceof DrmaaError)) throw toDrmaaError(err, 'Internal', `reading the output of job ${ref.jobId}`);
      filesFailed = err;
      log.warn('output files not written; the container is kept', { jobId: ref.jobId, error: filesFailed.message });
    }
    let output: JobOutput;
    try {
      output = await readLogs(docker, c.Id, logLimit);
    } catch (err) {
      throw toDrmaaError(err, 'Internal', `collecting the output of job ${ref.jobId}`);
    }
    if (filesFailed && s.info) {
      const why = `${filesFailed.kind}: ${filesFailed.message}; ${KEPT_FOR_OUTPUT}`;
      return { ...s, info: { ...s.info, annotation: why }, output };
    }
    return { ...s, output };
  }

  /**
   * The container in its next run once its restart policy has started it again; undefined when it
   * stays down for RESTART_GRACE_MS (stopped by the user, which Podman's inspect does not show).
   */
  async function afterRestart(ref: ContainerRef, c: Docker.ContainerInspectInfo) {
    let restarted!: () => void;
    const started = new Promise<void>((resolve) => (restarted = resolve));
    let stopWatching: () => void;
    try {
      stopWatching = await events.watch(c.Id, {
        onEvent: (e) => (e.Action === 'start' || e.Action === 'restart') && restarted(),
        onBroken: () => restarted(), // look again below; the next call watches again
      });
    } catch (err) {
      throw toDrmaaError(err, 'DrmCommunication', `watching job ${ref.jobId} for its restart`);
    }
    let grace: NodeJS.Timeout | undefined;
    try {
      // Watching: look again, so a restart between the first look and here is not missed.
      const now = await inspect({ ...ref, containerId: c.Id });
      if (!now || runOf(now) !== runOf(c)) return now;
      const inTime = await Promise.race([
        started.then(() => true),
        new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(false), RESTART_GRACE_MS))),
      ]);
      return inTime ? await inspect({ ...ref, containerId: c.Id }) : undefined;
    } finally {
      clearTimeout(grace);
      stopWatching();
    }
  }

  /** killJob's answer for a job its restart policy starts again faster than a signal lands. */
  const outrunBy = (ref: ContainerRef, signal: string) =>
    invalidState(
      `job ${ref.jobId} exits and is restarted by its restart policy before ${signal} can reach it ` +
        `(${KILL_ATTEMPTS} tries): this Podman cannot stop a container between its restarts ` +
        `(fixed upstream by containers/podman#18267)`,
    );

  /**
   * Waits for the exit; with `withinMs`, gives up after that long and answers `running`. Its
   * heartbeats carry `details()`.
   */
  async function waitExit(ref: ContainerRef, withinMs?: number, details?: () => unknown): Promise<JobStatus> {
    const ctx = Context.current();
    // Subscribe first, then look: an exit in between is not missed, and one look is enough.
    const id = ref.containerId ?? (await findContainer(ref.jobId))?.Id;
    if (!id) return status(undefined);

    return await new Promise<JobStatus>((resolve, reject) => {
      let stopWatching: (() => void) | undefined;
      let settled = false;
      let restartGrace: NodeJS.Timeout | undefined;
      const heartbeatMs = Math.max(1000, Math.min(10_000, (ctx.info.heartbeatTimeoutMs ?? 30_000) / 3));
      const beat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(details?.()), heartbeatMs);
      const giveUp =
        withinMs === undefined
          ? undefined
          : setTimeout(() => settle(() => resolve({ state: 'running', subState: '' })), withinMs);
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearInterval(beat);
        clearTimeout(giveUp);
        clearTimeout(restartGrace);
        ctx.cancellationSignal.removeEventListener('abort', onAbort);
        stopWatching?.();
        fn();
      };
      const onAbort = () => settle(() => reject(ctx.cancellationSignal.reason ?? new Error('cancelled')));
      ctx.cancellationSignal.addEventListener('abort', onAbort);

      const check = async (final = false) => {
        const c = await inspect({ ...ref, containerId: id });
        // Removed before its result was collected (by hand, or with its host): the job's
        // container vanished; the workflow decides whether to run it again.
        if (!c) return settle(() => resolve({ state: 'undetermined', subState: 'containerNotFound' }));
        const s = await status(c);
        if (settled || !isEndState(s.state)) return; // (settled meanwhile: no grace to arm)
        // An exit under a restart policy is followed by a start, which clears the grace; one
        // stopped by the user is not (Podman's inspect cannot tell them apart), and is final then.
        if (!final && willRestart(c)) {
          clearTimeout(restartGrace);
          restartGrace = setTimeout(() => check(true).catch(fail), RESTART_GRACE_MS);
          return;
        }
        settle(() => resolve(s));
      };
      const fail = (err: unknown) =>
        settle(() => reject(toDrmaaError(err, 'DrmCommunication', `waiting for job ${ref.jobId}`)));

      events
        .watch(id, {
          onEvent: (e) => {
            if (e.Action === 'start' || e.Action === 'restart') clearTimeout(restartGrace);
            if (e.Action === 'die' || e.Action === 'died' || e.Action === 'remove') check().catch(fail);
          },
          // The stream breaks only when Podman's service goes away: retry, and watch again then.
          onBroken: (err) => fail(new DrmaaError('DrmCommunication', `Podman's event stream ended: ${err.message}`)),
        })
        .then((stop) => {
          stopWatching = stop;
          if (settled) return stop();
          // Watching: now look once more, so an exit between the first look and here is not missed.
          return check();
        })
        .catch(fail);
    });
  }

  /** Signals the array job that a task ended; a retry may signal again, which the array counts once. */
  async function tellArrayJob(task: ArrayTaskRef, state: JobState): Promise<boolean> {
    try {
      await Context.current()
        .client.workflow.getHandle(task.arrayJobId)
        .signal(taskEndedSignal, task.taskNumber, state);
      return true;
    } catch (err) {
      // The array job has gone (ended, terminated): nobody to tell. Anything else: the workflow tells it.
      log.warn('could not tell the array job', { arrayJobId: task.arrayJobId, error: String(err) });
      return false;
    }
  }

  /**
   * The rest of a job's life in one activity: waits for the exit (as waitForExit), tells an array
   * job at once so the next task can take the slot, then collects the result (as collectResult).
   * One activity instead of two, and no workflow task in between: a task costs Temporal less.
   * With `withinMs` it waits at most that long and answers `running` if the job has not ended.
   */
  async function waitAndCollect(
    ref: ContainerRef,
    files: OutputFiles = {},
    task?: ArrayTaskRef,
    withinMs?: number,
  ): Promise<WaitAndCollectResult> {
    // A job watched by a normal activity streams its output live; a local one (a job's first
    // moments) has no heartbeats to carry it.
    const live =
      liveInterval > 0 && !Context.current().info.isLocal && ref.containerId
        ? followLiveOutput(docker, ref.containerId, liveInterval)
        : undefined;
    try {
      const ended = await waitExit(ref, withinMs, live?.current);
      // Vanished, or (with withinMs) still running: nothing to collect yet.
      if (ended.state === 'undetermined' || !isEndState(ended.state)) return { ended, told: false };
      const told = task ? await tellArrayJob(task, ended.state) : false;
      const collected = await withHeartbeat(() => collect(ref, files), live?.current);
      return { ended, collected, told };
    } finally {
      live?.stop();
    }
  }

  return {
    /**
     * Creates the job's container and starts it. A retry finds the container an earlier attempt
     * created (by its job label) and only starts it if it has not started yet. Bad input is
     * refused before any container exists; a container that cannot start is removed. With `quick`
     * it also waits (as waitAndCollect with `withinMs`) for the job's first moments: a short job
     * is then created, started, seen to end and collected by one local activity of its workflow.
     */
    async createAndStartContainer(input: SubmitJobInput, quick?: QuickWatch): Promise<CreatedContainer> {
      const started = await withHeartbeat(() => createAndStart(input));
      if (!quick) return started;
      // A failure after the creation is not thrown: a retry would create the container again if it
      // had been removed meanwhile. The answer has no `quick` then, and the workflow waits again.
      const ref = { jobId: input.jobId, containerId: started.containerId };
      try {
        return { ...started, quick: await waitAndCollect(ref, quick.files, quick.task, quick.withinMs) };
      } catch (err) {
        if (Context.current().cancellationSignal.aborted) throw err; // cancelled: not a failure to hide
        log.warn('first wait failed; the job is watched again', { jobId: input.jobId, error: String(err) });
        return started;
      }
    },

    /** Collects an ended job's result (see collect). */
    collectResult(ref: ContainerRef, files: OutputFiles = {}): Promise<JobResult> {
      return withHeartbeat(() => collect(ref, files));
    },
    /** The job's state, sub-state and JobInfo as Podman sees them; `undetermined` when it has no container. */
    async inspectJob(ref: ContainerRef): Promise<JobStatus> {
      return status(await inspect(ref));
    },

    async pauseJob(ref: ContainerRef): Promise<void> {
      const c = await mustInspect(ref);
      if (c.State.Paused) return;
      try {
        await docker.getContainer(c.Id).pause();
      } catch (err) {
        const msg = podmanMessage(err);
        if (/rootless/i.test(msg) && /cgroup/i.test(msg)) {
          throw new DrmaaError(
            'UnsupportedOperation',
            `suspend: Podman cannot pause rootless containers on cgroups v1 (${msg})`,
          );
        }
        throw toDrmaaError(err, 'InvalidState', `suspending job ${ref.jobId}`);
      }
    },

    async unpauseJob(ref: ContainerRef): Promise<void> {
      const c = await mustInspect(ref);
      if (!c.State.Paused) return;
      try {
        await docker.getContainer(c.Id).unpause();
      } catch (err) {
        throw toDrmaaError(err, 'InvalidState', `resuming job ${ref.jobId}`);
      }
    },

    /**
     * Sends a signal (SIGKILL by default). A container that has already ended is left as it is. One
     * its restart policy is about to start again gets the signal once it runs: Podman 4.3 takes no
     * signal between an exit and the restart, and only a signal marks it stopped by the user.
     */
    async killJob(ref: ContainerRef, signal = 'SIGKILL'): Promise<void> {
      // Heartbeats: waiting out restarts can take longer than the heartbeat timeout.
      return withHeartbeat(async () => {
        let c = await mustInspect(ref);
        for (let attempt = 1; ; attempt++) {
          // Ended: for good, unless its policy starts it again; then the signal goes to that run.
          if (!isLive(c)) {
            const next = willRestart(c) ? await afterRestart(ref, c) : undefined;
            if (!next) return;
            c = next;
          }
          if (isLive(c)) {
            try {
              await docker.getContainer(c.Id).kill({ signal });
              // A frozen process cannot act on a signal: thaw it so the signal lands.
              if (c.State.Paused)
                await docker
                  .getContainer(c.Id)
                  .unpause()
                  .catch(() => undefined);
              return;
            } catch (err) {
              const after = await inspect({ ...ref, containerId: c.Id });
              if (!after) return; // removed meanwhile
              // The same run still going: the signal itself was refused.
              if (isLive(after) && runOf(after) === runOf(c)) {
                throw toDrmaaError(err, 'InvalidArgument', `sending ${signal} to job ${ref.jobId}`);
              }
              c = after; // it ended meanwhile (and may have been started again): look again
            }
          }
          if (attempt >= KILL_ATTEMPTS) throw outrunBy(ref, signal);
        }
      });
    },

    /**
     * Passes a signal to the job's process, as `podman kill --signal` does; a container that is not
     * running (ended, or between restarts) has no process to take it, and is left as it is.
     */
    async signalJob(ref: ContainerRef, signal: string): Promise<void> {
      const c = await mustInspect(ref);
      if (!isLive(c)) return;
      try {
        await docker.getContainer(c.Id).kill({ signal });
      } catch (err) {
        const after = await inspect({ ...ref, containerId: c.Id });
        if (!after || !isLive(after)) return; // it ended meanwhile
        throw toDrmaaError(err, 'InvalidArgument', `sending ${signal} to job ${ref.jobId}`);
      }
    },

    /**
     * Removes, running or not, a container that a creation made for a job that has ended without
     * knowing of it (terminated while a killed worker was creating it); none is nothing to do.
     */
    async removeStrayContainer(ref: ContainerRef): Promise<void> {
      const c = await inspect({ jobId: ref.jobId });
      if (!c) return;
      log.warn('removing the container of a job that ended without it', { jobId: ref.jobId, container: c.Id });
      try {
        await docker.getContainer(c.Id).remove({ force: true, v: true });
      } catch (err) {
        if (!isNotFound(err)) throw toDrmaaError(err, 'Internal', `removing the container of job ${ref.jobId}`);
      }
    },

    /** Removes the container and its anonymous volumes; only once the job has ended. */
    async removeJob(ref: ContainerRef): Promise<void> {
      const c = await inspect(ref);
      if (!c) return; // already gone: a retried removal
      const { state } = jobStateOf(c);
      if (!isEndState(state))
        throw invalidState(`job ${ref.jobId} is ${state}; only done or failed jobs can be deleted`);
      try {
        await docker.getContainer(c.Id).remove({ v: true });
      } catch (err) {
        if (!isNotFound(err)) throw toDrmaaError(err, 'Internal', `removing the container of job ${ref.jobId}`);
      }
    },

    /** The Podman host's image names: DRMAA2 job categories. */
    async listImages(): Promise<string[]> {
      try {
        const images = await docker.listImages();
        const names = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t && !t.startsWith('<none>'));
        return [...new Set(names)].sort();
      } catch (err) {
        throw toDrmaaError(err, 'Internal', 'listing images');
      }
    },

    /** Every container of a session, in every state. */
    async listSessionJobs(session: string): Promise<SessionJob[]> {
      let list: Docker.ContainerInfo[];
      try {
        list = await docker.listContainers({ all: true, filters: { label: [`${LABEL.session}=${session}`] } });
      } catch (err) {
        throw toDrmaaError(err, 'Internal', `listing the containers of session ${session}`);
      }
      const jobs = await Promise.all(
        list.map(async (c) => {
          const jobId = c.Labels[LABEL.job] ?? c.Id;
          const full = await inspect({ jobId, containerId: c.Id });
          return full && { jobId, containerId: c.Id, ...jobStateOf(full) };
        }),
      );
      return jobs.filter((j) => j !== undefined);
    },

    /** The job's stdout and stderr, apart, each bounded. */
    async jobLogs(ref: ContainerRef, limitBytes = logLimit): Promise<JobOutput> {
      const c = await mustInspect(ref);
      try {
        return await readLogs(docker, c.Id, limitBytes);
      } catch (err) {
        throw toDrmaaError(err, 'Internal', `reading the logs of job ${ref.jobId}`);
      }
    },

    /**
     * Waits for the container to exit, on Podman's event stream (never by polling inspect),
     * heartbeating meanwhile; returns at once if it has already exited. A restart policy that
     * brings the container back keeps the wait going. Cancellation ends the wait immediately.
     */
    waitForExit(ref: ContainerRef): Promise<JobStatus> {
      return waitExit(ref);
    },

    /** See waitAndCollect above. */
    waitAndCollect,
  };
}

/** A create that lost a race for its name: 409, or 500 when Podman's storage layer noticed first. */
function nameTaken(err: unknown): boolean {
  return statusOf(err) === 409 || /name .* is already in use/i.test(podmanMessage(err));
}

/** What a start interrupted by a killed Podman leaves behind: runc's state of it, its network address. */
const INTERRUPTED_START = /container with given ID already exists|duplicate allocation is not allowed/i;
/** What a creation interrupted by a killed Podman leaves behind: storage that holds the name. */
const ORPHANED_STORAGE = /creating container storage/i;

/** Podman's words for a container that cannot start, sorted into what the caller can act on. */

function startFailureKind(err: unknown): 'OutOfResource' | 'InvalidArgument' {
  return /address already in use|port is already allocated|bind: /i.test(podmanMessage(err))
    ? 'OutOfResource'
    : 'InvalidArgument';
}

export type PodmanActivities = ReturnType<typeof createActivities>;
