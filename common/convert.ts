// JobTemplate -> Podman container create request (Docker-compatible API, as dockerode sends it).
// Pure: no I/O. Everything a template asks for is either mapped here, honoured by the job
// workflow (timing, hold, queue, rerun), or refused as UnsupportedAttribute -- never dropped.
import type Docker from 'dockerode';
import { DrmaaError, invalidArgument, unsupportedAttribute } from './errors.js';
import { EXTENSION_KEYS, type JobTemplate } from './template.js';
import { parseBytes, requireSafe } from './units.js';

export const LABEL = {
  job: 'podman-tracker.job',
  session: 'podman-tracker.session',
  template: 'podman-tracker.template',
  jobName: 'podman-tracker.jobName',
  owner: 'podman-tracker.owner',
  submissionMachine: 'podman-tracker.submissionMachine',
  submissionTime: 'podman-tracker.submissionTime',
  accounting: 'podman-tracker.accounting',
  /** The template's `rm`: the container goes once the job's result is kept (activities/removals.ts). */
  rm: 'podman-tracker.rm',
} as const;

/** Who submitted the job and where: written onto the container so JobInfo can be read back. */
export interface JobContext {
  jobId: string;
  session: string;
  owner?: string;
  submissionMachine?: string;
  submissionTime?: string;
  /** The caller's stdin for the job (base64, at most MAX_STDIN_BYTES), kept in the job's history. */
  stdin?: string;
}

/** Stdin that travels with a job through Temporal (`run -i`): at most this many bytes. */
export const MAX_STDIN_BYTES = 1024 * 1024;

export interface ContainerRequest {
  /** The name derived from the job ID: stable across retries. */
  derivedName: string;
  /** The job's own name, when it is a valid container name (used if no other container has it). */
  preferredName?: string;
  create: Docker.ContainerCreateOptions;
  /** Host file fed to the container's stdin. */
  inputPath?: string;
  /** The caller's stdin (base64), fed to the container's stdin at its start. */
  stdin?: string;
  /** Host files that receive the container's stdout and stderr once it has exited. */
  outputPath?: string;
  errorPath?: string;
  joinFiles: boolean;
}

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A longer job name stays a label: Podman's database refuses container names of some KiB ("key too large"). */
const MAX_CONTAINER_NAME = 128;
/** A template travels whole in Temporal's history (2 MiB a payload) and, as JSON, in its container's
 * labels next to copies of jobName and accountingString (Podman takes about 1 MiB of labels). */
const MAX_TEMPLATE_BYTES = 256 * 1024;
/** Linux's MAX_ARG_STRLEN: a longer argument or environment entry makes the job's exec fail. */
const MAX_ARG_BYTES = 128 * 1024;
/** Linux's HOST_NAME_MAX. */
const MAX_HOSTNAME = 64;
const NAMESPACE_MODE = /^(host|private|container:.+|ns:\/.+)$/;
const IPC_MODE = /^(host|private|shareable|none|container:.+|ns:\/.+)$/;
const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;
const ULIMIT_NAMES = new Set([
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc',
  'rss', 'rtprio', 'rttime', 'sigpending', 'stack', 'as',
]); // prettier-ignore

/** DRMAA2's resource limit names that map onto a ulimit. */
const DRMAA_ULIMITS: Record<string, string> = {
  CORE_FILE_SIZE: 'core',
  CPU_TIME: 'cpu',
  DATA_SEG_SIZE: 'data',
  FILE_SIZE: 'fsize',
  OPEN_FILES: 'nofile',
  STACK_SIZE: 'stack',
  VIRTUAL_MEMORY: 'as',
};

/** Container names allow [a-zA-Z0-9_.-]; job IDs are mapped onto that alphabet one-to-one enough to be unique. */
export function containerNameFor(jobId: string): string {
  return `podman-tracker-${jobId.replace(/[^a-zA-Z0-9_.-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`;
}

export function toContainerRequest(t: JobTemplate, ctx: JobContext): ContainerRequest {
  rejectUnsupported(t);
  const json = JSON.stringify(t);
  const size = Buffer.byteLength(json);
  if (size > MAX_TEMPLATE_BYTES) {
    throw invalidArgument(`the template is ${size} bytes as JSON; at most ${MAX_TEMPLATE_BYTES} are accepted`);
  }
  const image = t.jobCategory?.trim();
  if (!image) throw invalidArgument('jobCategory (the container image) is required');
  if (/\s/.test(image)) throw invalidArgument(`jobCategory: "${image}" is not an image reference`);

  const hostConfig: Docker.HostConfig = {};
  const create: Docker.ContainerCreateOptions = {
    Image: image,
    Tty: false, // stdout and stderr stay apart and keep their own line endings
    Labels: labels(t, json, ctx),
    HostConfig: hostConfig,
  };

  const command = [...(t.remoteCommand ? [t.remoteCommand] : []), ...(t.args ?? [])];
  command.forEach((arg, i) => requireExecString(i === 0 && t.remoteCommand ? 'remoteCommand' : 'args', arg));
  if (command.length > 0) create.Cmd = command;

  const machines = t.candidateMachines?.filter((m) => m !== '') ?? [];
  if (machines.length > 1) {
    throw invalidArgument(`candidateMachines: a container has one hostname, got ${machines.length} entries`);
  }
  if (machines[0] !== undefined) {
    requireNoNul('candidateMachines', machines[0]);
    if (machines[0].length > MAX_HOSTNAME) {
      throw invalidArgument(`candidateMachines: a host name has at most ${MAX_HOSTNAME} characters`);
    }
    create.Hostname = machines[0];
  }

  if (t.workingDirectory) {
    requireAbsolute('workingDirectory', t.workingDirectory);
    create.WorkingDir = t.workingDirectory;
  }

  if (t.jobEnvironment) {
    create.Env = Object.entries(t.jobEnvironment).map(([k, v]) => {
      if (k === '' || k.includes('=')) throw invalidArgument(`jobEnvironment: "${k}" is not a variable name`);
      return requireExecString(`jobEnvironment.${k}`, `${k}=${v}`);
    });
  }

  if (t.stageInFiles) {
    hostConfig.Binds = Object.entries(t.stageInFiles).map(([host, container]) => bind(host, container));
  }

  applyResourceLimits(t, hostConfig);
  applyExtensions(t.extension?.extensionList ?? {}, create, hostConfig);

  if (t.inputPath && ctx.stdin !== undefined) {
    throw invalidArgument("inputPath and the caller's stdin are two inputs for one stdin: give one");
  }
  if (ctx.stdin !== undefined && Buffer.byteLength(ctx.stdin, 'base64') > MAX_STDIN_BYTES) {
    throw invalidArgument(
      `stdin is ${Buffer.byteLength(ctx.stdin, 'base64')} bytes; at most ${MAX_STDIN_BYTES} travel with a job`,
    );
  }
  if (t.inputPath) requireAbsolute('inputPath', t.inputPath);
  if (t.inputPath || ctx.stdin !== undefined) {
    Object.assign(create, { OpenStdin: true, StdinOnce: true, AttachStdin: true });
  }
  if (t.outputPath) requireAbsolute('outputPath', t.outputPath);
  if (t.errorPath) requireAbsolute('errorPath', t.errorPath);

  return {
    derivedName: containerNameFor(ctx.jobId),
    preferredName:
      t.jobName && t.jobName.length <= MAX_CONTAINER_NAME && CONTAINER_NAME.test(t.jobName) ? t.jobName : undefined,
    create,
    inputPath: t.inputPath || undefined,
    stdin: ctx.stdin,
    outputPath: t.outputPath || undefined,
    errorPath: t.errorPath || undefined,
    joinFiles: t.joinFiles ?? false,
  };
}

function labels(t: JobTemplate, json: string, ctx: JobContext): Record<string, string> {
  const l: Record<string, string> = {
    [LABEL.job]: ctx.jobId,
    [LABEL.session]: ctx.session,
    [LABEL.template]: json,
  };
  if (t.jobName) l[LABEL.jobName] = t.jobName;
  if (t.accountingString) l[LABEL.accounting] = t.accountingString;
  if (ctx.owner) l[LABEL.owner] = ctx.owner;
  if (ctx.submissionMachine) l[LABEL.submissionMachine] = ctx.submissionMachine;
  if (ctx.submissionTime) l[LABEL.submissionTime] = ctx.submissionTime;
  return l;
}

/** Fields this system cannot honour: refused by name rather than silently ignored. */
function rejectUnsupported(t: JobTemplate): void {
  const refuse = (field: string, why: string) => {
    throw unsupportedAttribute(`${field}: ${why}`);
  };
  if (t.email?.length) refuse('email', 'podman-tracker sends no mail');
  if (t.emailOnStarted) refuse('emailOnStarted', 'podman-tracker sends no mail');
  if (t.emailOnTerminated) refuse('emailOnTerminated', 'podman-tracker sends no mail');
  if (t.reservationID) refuse('reservationID', 'Podman has no advance reservations');
  if ((t.minSlots ?? 0) > 1) refuse('minSlots', 'a container is one slot');
  if ((t.maxSlots ?? 0) > 1) refuse('maxSlots', 'a container is one slot');
  if (t.priority) refuse('priority', 'Podman has no job priorities');
  if (t.machineOs && t.machineOs.toLowerCase() !== 'linux') refuse('machineOs', 'Podman runs Linux containers only');
  if (t.machineArch) refuse('machineArch', 'choose the architecture through the image');
  if (t.stageOutFiles && Object.keys(t.stageOutFiles).length) refuse('stageOutFiles', 'not supported yet');
  for (const key of Object.keys(t.extension?.extensionList ?? {})) {
    if (!(EXTENSION_KEYS as readonly string[]).includes(key)) {
      refuse(`extension.extensionList.${key}`, `unknown extension; known: ${EXTENSION_KEYS.join(', ')}`);
    }
  }
}

function requireAbsolute(field: string, path: string): void {
  if (!path.startsWith('/')) throw invalidArgument(`${field}: "${path}" must be an absolute path`);
  requireNoNul(field, path);
}

/** The kernel ends C strings at NUL: a path, name or argument holding one cannot mean what it says. */
function requireNoNul(field: string, value: string): void {
  if (value.includes('\0')) throw invalidArgument(`${field}: may not contain a NUL character`);
}

/** An argument or environment entry of the job's process. */
function requireExecString(field: string, value: string): string {
  requireNoNul(field, value);
  const bytes = Buffer.byteLength(value);
  if (bytes >= MAX_ARG_BYTES) {
    throw invalidArgument(
      `${field}: ${bytes} bytes; Linux takes less than ${MAX_ARG_BYTES} in one argument or variable`,
    );
  }
  return value;
}

function bind(host: string, container: string): string {
  requireAbsolute('stageInFiles (host path)', host);
  requireAbsolute('stageInFiles (container path)', container);
  for (const p of [host, container]) {
    if (p.includes(':') || p.includes(',')) throw invalidArgument(`stageInFiles: "${p}" may not contain ':' or ','`);
  }
  return `${host}:${container}`;
}

function applyResourceLimits(t: JobTemplate, hc: Docker.HostConfig): void {
  if (t.minPhysMemory) {
    const bytes = t.minPhysMemory * 1024; // DRMAA2 counts KiB
    hc.MemoryReservation = requireSafe('minPhysMemory', String(t.minPhysMemory), bytes);
  }
  for (const [key, value] of Object.entries(t.resourceLimits ?? {})) {
    const field = `resourceLimits.${key}`;
    switch (key) {
      case 'memory':
        hc.Memory = parseBytes(value, field);
        break;
      case 'cpus': {
        const cpus = Number(value);
        if (!Number.isFinite(cpus) || cpus <= 0) throw invalidArgument(`${field}: "${value}" is not a CPU count`);
        hc.NanoCpus = requireSafe(field, value, Math.round(cpus * 1e9));
        break;
      }
      case 'pids': {
        const pids = Number(value);
        if (!Number.isInteger(pids) || pids === 0 || pids < -1) {
          throw invalidArgument(`${field}: "${value}" is not a process count (-1 for unlimited)`);
        }
        hc.PidsLimit = requireSafe(field, value, pids);
        break;
      }
      default: {
        const ulimit = DRMAA_ULIMITS[key];
        if (!ulimit) {
          throw unsupportedAttribute(
            `${field}: supported limits are memory, cpus, pids, ${Object.keys(DRMAA_ULIMITS).join(', ')}`,
          );
        }
        const n = parseLimit(value, field);
        addUlimit(hc, { Name: ulimit, Soft: n, Hard: n });
      }
    }
  }
  if (hc.Memory !== undefined && hc.MemoryReservation !== undefined && hc.MemoryReservation > hc.Memory) {
    throw invalidArgument('minPhysMemory is larger than resourceLimits.memory');
  }
}

function parseLimit(value: string, field: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1) throw invalidArgument(`${field}: "${value}" is not an integer limit`);
  return requireSafe(field, value, n);
}

function addUlimit(hc: Docker.HostConfig, u: { Name: string; Soft: number; Hard: number }): void {
  hc.Ulimits = [...(hc.Ulimits ?? []).filter((x) => x.Name !== u.Name), u];
}

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  throw invalidArgument(`extension ${key}: "${value}" is not true or false`);
}

function applyExtensions(ext: Record<string, string>, create: Docker.ContainerCreateOptions, hc: Docker.HostConfig) {
  for (const [key, value] of Object.entries(ext)) {
    const bad = (what: string) => invalidArgument(`extension ${key}: "${value}" ${what}`);
    switch (key) {
      case 'user':
        if (!/^[^\s:\0]+(:[^\s:\0]+)?$/.test(value)) throw bad('is not user[:group]');
        create.User = value;
        break;
      case 'exposedPorts':
        applyPorts(value, create, hc);
        break;
      case 'privileged':
        hc.Privileged = parseBool(key, value);
        break;
      case 'restart': {
        if (!RESTART.test(value)) throw bad('is not no, always, unless-stopped or on-failure[:N]');
        const [name, retries] = value.split(':');
        const count = retries ? requireSafe(`extension ${key}`, value, Number(retries)) : 0;
        hc.RestartPolicy = { Name: name ?? value, MaximumRetryCount: count };
        break;
      }
      case 'ipc':
        if (!IPC_MODE.test(value)) throw bad('is not an IPC namespace mode');
        hc.IpcMode = value;
        break;
      case 'uts':
        if (!NAMESPACE_MODE.test(value))
          throw bad('is not a UTS namespace mode (host, private, container:ID, ns:PATH)');
        hc.UTSMode = value;
        break;
      case 'pid':
        if (!NAMESPACE_MODE.test(value))
          throw bad('is not a PID namespace mode (host, private, container:ID, ns:PATH)');
        hc.PidMode = value;
        break;
      case 'rm':
        hc.AutoRemove = parseBool(key, value);
        break;
      case 'entrypoint':
        create.Entrypoint = parseEntrypoint(value, bad);
        break;
      case 'net':
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.:/-]*$/.test(value)) throw bad('is not a network mode');
        hc.NetworkMode = value;
        break;
      case 'shm-size':
        hc.ShmSize = parseBytes(value, `extension ${key}`);
        break;
      case 'ulimit':
        for (const part of value.split(',').filter(Boolean)) {
          const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(part.trim());
          if (!m || !ULIMIT_NAMES.has(m[1]!)) throw bad(`has "${part}", not name=soft[:hard] with a known name`);
          const [soft, hard] = [m[2]!, m[3] ?? m[2]!].map((n) => requireSafe(`extension ${key}`, part, Number(n)));
          addUlimit(hc, { Name: m[1]!, Soft: soft!, Hard: hard! });
        }
        break;
      case 'gpus': {
        if (value !== 'all' && !/^[1-9]\d*$/.test(value)) throw bad('is not "all" or a GPU count');
        hc.DeviceRequests = [{ Driver: '', Count: value === 'all' ? -1 : Number(value), Capabilities: [['gpu']] }];
        break;
      }
      default:
        throw new DrmaaError('UnsupportedAttribute', `extension.extensionList.${key}: unknown extension`);
    }
  }
}

function parseEntrypoint(value: string, bad: (what: string) => Error): string[] {
  if (value.trim().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw bad('is not a JSON array of strings');
    }
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string'))
      throw bad('is not a JSON array of strings');
    return parsed.map((s: string) => requireExecString('extension entrypoint', s));
  }
  if (value === '') throw bad('is empty');
  return [requireExecString('extension entrypoint', value)];
}

/** `[hostIP:]hostPort:containerPort[/tcp|/udp],...` as the Go tracker reads it; IPv6 host IPs in brackets. */
export function applyPorts(spec: string, create: Docker.ContainerCreateOptions, hc: Docker.HostConfig): void {
  const exposed: Record<string, object> = { ...create.ExposedPorts };
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = { ...hc.PortBindings };
  for (const raw of spec.split(',').map((s) => s.trim())) {
    const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(raw);
    if (!m) throw invalidArgument(`extension exposedPorts: "${raw}" is not [hostIP:]hostPort:containerPort[/tcp|udp]`);
    const [, ip, hostPort, containerPort, proto = 'tcp'] = m;
    for (const p of [hostPort!, containerPort!]) {
      const n = Number(p);
      if (n < 1 || n > 65535) throw invalidArgument(`extension exposedPorts: port ${p} is out of range 1-65535`);
    }
    if (ip && !ip.startsWith('[') && ip !== 'localhost' && !isIPv4(ip)) {
      throw invalidArgument(`extension exposedPorts: "${ip}" is not an IP address`);
    }
    const key = `${Number(containerPort)}/${proto}`;
    exposed[key] = {};
    bindings[key] = [...(bindings[key] ?? []), { HostIp: ip?.replace(/^\[|\]$/g, '') ?? '', HostPort: hostPort! }];
  }
  create.ExposedPorts = exposed;
  hc.PortBindings = bindings;
}

function isIPv4(ip: string): boolean {
  const parts = ip.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
