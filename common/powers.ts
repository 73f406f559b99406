// What a job may reach beyond its own container. Podman grants whatever a create request asks
// for (and through a rootful socket, that is root on the host), so the worker grants nothing
// that reaches the host unless its operator said so: privileged containers, host namespaces,
// bind mounts, GPUs, images outside an allow-list. The check reads the create request the
// template was mapped to, so it sees exactly what Podman would be asked for.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { DrmaaError, invalidArgument } from './errors.js';
import { parseSwitch } from './units.js';

const HOST_NAMESPACES = ['ipc', 'uts', 'pid', 'net'] as const;
export type HostNamespace = (typeof HOST_NAMESPACES)[number];

export interface WorkerPowers {
  /** Privileged containers (extension `privileged`). */
  privileged: boolean;
  /** Namespaces a job may share with the host or another container (extensions `ipc`, `uts`, `pid`, `net`). */
  hostNamespaces: readonly HostNamespace[];
  /** Bind mounts of host paths (`stageInFiles`). */
  bindMounts: boolean;
  /** Directories that bind mount sources must lie in, symlinks resolved; empty: anywhere. */
  mountAllow: readonly string[];
  /** GPU device requests (extension `gpus`). */
  gpus: boolean;
  /** Image patterns (`*`: any run of characters) a job's image must match; empty: any image. */
  imageAllow: readonly string[];
}

/** A worker's powers unless its operator grants more: none. */
export const NO_POWERS: WorkerPowers = Object.freeze({
  privileged: false,
  hostNamespaces: [],
  bindMounts: false,
  mountAllow: [],
  gpus: false,
  imageAllow: [],
});

/** How an operator grants each power: the worker's flag and its variable. */
export const POWER_OPTIONS = {
  privileged: { flag: '--allow-privileged', env: 'PODMAN_TRACKER_ALLOW_PRIVILEGED' },
  hostNamespaces: { flag: '--allow-host-namespaces', env: 'PODMAN_TRACKER_ALLOW_HOST_NAMESPACES' },
  bindMounts: { flag: '--allow-bind-mounts', env: 'PODMAN_TRACKER_ALLOW_BIND_MOUNTS' },
  mountAllow: { flag: '--mount-allow', env: 'PODMAN_TRACKER_MOUNT_ALLOW' },
  gpus: { flag: '--allow-gpus', env: 'PODMAN_TRACKER_ALLOW_GPUS' },
  imageAllow: { flag: '--image-allow', env: 'PODMAN_TRACKER_IMAGE_ALLOW' },
} as const satisfies Record<keyof WorkerPowers, { flag: string; env: string }>;

/** HostConfig fields the mapping sets that stay within the container's own sandbox and limits. */
const CONFINED = new Set([
  'Memory', 'MemoryReservation', 'NanoCpus', 'PidsLimit', 'Ulimits', 'ShmSize', 'RestartPolicy', 'AutoRemove',
  'PortBindings',
]); // prettier-ignore
/** HostConfig fields that can reach the host: each is checked below. Any other field is refused. */
const GATED = new Set(['Privileged', 'IpcMode', 'UTSMode', 'PidMode', 'NetworkMode', 'Binds', 'DeviceRequests']);
export const CLASSIFIED_HOST_CONFIG = new Set([...CONFINED, ...GATED]);

const NAMESPACE_FIELD: Record<HostNamespace, 'IpcMode' | 'UTSMode' | 'PidMode' | 'NetworkMode'> = {
  ipc: 'IpcMode',
  uts: 'UTSMode',
  pid: 'PidMode',
  net: 'NetworkMode',
};

/** Namespace modes that keep the job in namespaces of its own; anything else joins one it does not own. */
function ownNamespace(ns: HostNamespace, mode: string): boolean {
  switch (ns) {
    case 'ipc':
      return ['', 'private', 'shareable', 'none'].includes(mode);
    case 'uts':
    case 'pid':
      return ['', 'private'].includes(mode);
    case 'net':
      // A network by name (bridge, none, slirp4netns, pasta, a Podman network); not `host`, not
      // `container:`/`ns:`, and no mode options (slirp4netns and pasta options can open the host's loopback).
      return mode === '' || (mode !== 'host' && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(mode));
  }
}

function grantHint(power: keyof typeof POWER_OPTIONS, value = '1'): string {
  const o = POWER_OPTIONS[power];
  const arg = value === '1' ? '' : ` ${value}`;
  return `start it with ${o.flag}${arg} (${o.env}=${value})`;
}

function describeNamespace(ns: HostNamespace, mode: string): string {
  if (mode === 'host') return `the host's ${ns} namespace (extension ${ns}=host)`;
  if (ns === 'net' && /^(slirp4netns|pasta):/.test(mode)) return `a network mode with options (extension net=${mode})`;
  return `a ${ns} namespace outside the job's container (extension ${ns}=${mode})`;
}

/**
 * Refuses a container request that asks for a power this worker does not grant: a DeniedByDrms
 * error naming every refused power and the worker option that grants it. Bind mount sources are
 * resolved on this host's filesystem (symlinks, `..`) before they are held against the allow-list.
 */
export async function checkPowers(create: Docker.ContainerCreateOptions, powers: WorkerPowers): Promise<void> {
  const denied: string[] = [];
  const deny = (what: string, hint: string, verb = 'are') =>
    denied.push(`${what} ${verb} not allowed on this worker: ${hint}`);
  const hc = create.HostConfig ?? {};

  for (const [key, value] of Object.entries(hc)) {
    if (value !== undefined && !CLASSIFIED_HOST_CONFIG.has(key)) {
      denied.push(`HostConfig.${key} is not known to the worker's power check, so it is refused`);
    }
  }
  if (hc.Privileged && !powers.privileged) {
    deny('privileged containers (extension privileged)', grantHint('privileged'));
  }
  for (const ns of HOST_NAMESPACES) {
    const mode = hc[NAMESPACE_FIELD[ns]] ?? '';
    if (!ownNamespace(ns, mode) && !powers.hostNamespaces.includes(ns)) {
      deny(describeNamespace(ns, mode), grantHint('hostNamespaces', ns), 'is');
    }
  }
  if (hc.DeviceRequests?.length && !powers.gpus) deny('GPUs (extension gpus)', grantHint('gpus'));

  const binds = hc.Binds ?? [];
  if (binds.length && !powers.bindMounts) {
    const m = POWER_OPTIONS.mountAllow;
    deny(
      'bind mounts (stageInFiles)',
      `${grantHint('bindMounts')}, or with ${m.flag} DIR (${m.env}=DIR) for sources in DIR only`,
    );
  } else if (binds.length && powers.mountAllow.length) {
    denied.push(...(await mountsOutside(binds, powers.mountAllow)));
  }

  const image = create.Image ?? '';
  if (powers.imageAllow.length && !powers.imageAllow.some((p) => imageMatches(p, image))) {
    const o = POWER_OPTIONS.imageAllow;
    denied.push(
      `image ${image} matches none of this worker's allowed images (${powers.imageAllow.join(', ')}): ` +
        `add a pattern with ${o.flag} (${o.env})`,
    );
  }

  if (denied.length) throw new DrmaaError('DeniedByDrms', denied.join('; '));
}

/** `*` matches any run of characters; everything else matches itself. */
export function imageMatches(pattern: string, image: string): boolean {
  const re = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${re.join('.*')}$`).test(image);
}

/** The real path: symlinks and `..` resolved; undefined when it cannot be (missing, or unreadable here). */
async function realPath(p: string): Promise<string | undefined> {
  try {
    return await realpath(path.resolve(p));
  } catch {
    return undefined;
  }
}

/** Whether `p` is `dir` or lies in it (both absolute and normalised). */
function isWithin(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The bind mounts whose sources, symlinks resolved, lie outside every allowed directory. */
async function mountsOutside(binds: readonly string[], allow: readonly string[]): Promise<string[]> {
  const dirs = await Promise.all(allow.map(async (d) => (await realPath(d)) ?? path.resolve(d)));
  const o = POWER_OPTIONS.mountAllow;
  const problems: string[] = [];
  for (const bind of binds) {
    // The mapping writes `source:target`, and refuses ':' in either path.
    const source = bind.slice(0, bind.indexOf(':'));
    const real = await realPath(source);
    if (real === undefined) {
      problems.push(
        `stageInFiles: ${source} cannot be resolved on the worker's host (missing, or not readable by the worker), ` +
          `so it cannot be held against ${o.flag}`,
      );
    } else if (!dirs.some((d) => isWithin(d, real))) {
      const shown = real === path.resolve(source) ? source : `${source} (that is ${real})`;
      problems.push(
        `stageInFiles: ${shown} is outside the directories this worker mounts (${allow.join(', ')}): ` +
          `add one with ${o.flag} (${o.env})`,
      );
    }
  }
  return problems;
}

/** Powers as an operator writes them: flags, or variables read as strings. */
export interface PowerSettings {
  allowPrivileged?: boolean | string;
  allowHostNamespaces?: string | readonly string[];
  allowBindMounts?: boolean | string;
  mountAllow?: string | readonly string[];
  allowGpus?: boolean | string;
  imageAllow?: string | readonly string[];
}

/** The powers from the worker's variables (see POWER_OPTIONS). */
export function powersFromEnv(env: NodeJS.ProcessEnv): WorkerPowers {
  const o = POWER_OPTIONS;
  return workerPowers({
    allowPrivileged: env[o.privileged.env],
    allowHostNamespaces: env[o.hostNamespaces.env],
    allowBindMounts: env[o.bindMounts.env],
    mountAllow: env[o.mountAllow.env],
    allowGpus: env[o.gpus.env],
    imageAllow: env[o.imageAllow.env],
  });
}

/**
 * Settings on top of powers (flags over variables): a flag that grants adds to what the variables
 * grant; an allow-list given replaces theirs. A mount allow-list grants bind mounts (in it).
 */
export function workerPowers(s: PowerSettings, base: WorkerPowers = NO_POWERS): WorkerPowers {
  const mountAllow = s.mountAllow === undefined ? base.mountAllow : list(s.mountAllow);
  for (const d of mountAllow) {
    if (!path.isAbsolute(d)) throw invalidArgument(`${setting('mountAllow')}: "${d}" is not an absolute path`);
  }
  const imageAllow = s.imageAllow === undefined ? base.imageAllow : list(s.imageAllow);
  for (const p of imageAllow) {
    if (/\s/.test(p)) throw invalidArgument(`${setting('imageAllow')}: "${p}" is not an image pattern`);
  }
  return {
    privileged: flag(s.allowPrivileged, 'privileged') || base.privileged,
    hostNamespaces: [...new Set([...base.hostNamespaces, ...namespaces(s.allowHostNamespaces)])],
    bindMounts: flag(s.allowBindMounts, 'bindMounts') || base.bindMounts || mountAllow.length > 0,
    mountAllow: mountAllow.map((d) => path.resolve(d)),
    gpus: flag(s.allowGpus, 'gpus') || base.gpus,
    imageAllow,
  };
}

/** Bind mounts granted in `dir` too, without narrowing a grant of any source. */
export function allowMountsIn(powers: WorkerPowers, dir: string): WorkerPowers {
  if (powers.bindMounts && powers.mountAllow.length === 0) return powers;
  return { ...powers, bindMounts: true, mountAllow: [...powers.mountAllow, path.resolve(dir)] };
}

/** What a worker grants, in one line for its start-up message. */
export function describePowers(p: WorkerPowers): string {
  const granted = [
    p.privileged && 'privileged',
    p.hostNamespaces.length && `host namespaces ${p.hostNamespaces.join(',')}`,
    p.bindMounts && `bind mounts ${p.mountAllow.length ? `in ${p.mountAllow.join(', ')}` : 'of any path'}`,
    p.gpus && 'GPUs',
  ].filter(Boolean);
  const images = p.imageAllow.length ? `images ${p.imageAllow.join(', ')}` : 'any image';
  return `${granted.length ? granted.join('; ') : 'no host powers'}; ${images}`;
}

/** A setting by both its names, for errors in either. */
function setting(power: keyof typeof POWER_OPTIONS): string {
  return `${POWER_OPTIONS[power].flag} (${POWER_OPTIONS[power].env})`;
}

function list(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(',') : value;
  return items.map((s) => s.trim()).filter(Boolean);
}

function flag(value: boolean | string | undefined, power: keyof typeof POWER_OPTIONS): boolean {
  if (value === undefined || typeof value === 'boolean') return value ?? false;
  return parseSwitch(value, setting(power));
}

function namespaces(value: string | readonly string[] | undefined): HostNamespace[] {
  const items = value === undefined ? [] : list(value);
  if (items.includes('all')) return [...HOST_NAMESPACES];
  for (const ns of items) {
    if (!(HOST_NAMESPACES as readonly string[]).includes(ns)) {
      throw invalidArgument(
        `${setting('hostNamespaces')}: "${ns}" is not a namespace (${HOST_NAMESPACES.join(', ')} or all)`,
      );
    }
  }
  return items as HostNamespace[];
}
