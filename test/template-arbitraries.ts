// Generated job templates for the property tests, each with what it must come to. A template is a
// command whose exit status and output are known, plus parts: valid fields with odd values, fields a
// worker may refuse (its powers, Podman's and the kernel's limits), and invalid fields and types.
import fc from 'fast-check';
import { posix } from 'node:path';
import type { ErrorKind } from '../common/errors.js';

export interface Expected {
  /** The client's validation refuses it: nothing starts, and a worker refuses it the same way. */
  clientRefuses: boolean;
  /** Refused by the client or by the worker: it never runs. */
  refused: boolean;
  /** The kinds a refusal must have; when not `refused`, the kinds a worker may still refuse it with. */
  kinds: ErrorKind[];
  exitCode: number;
  /** Its stdout, when the command says it exactly. */
  stdout?: string;
  /** The host file its stdout goes to (outputPath without joinFiles). */
  outputFile?: string;
  /** The container goes once the result is collected. */
  rm: boolean;
  /** Submitted on hold: released by the test that runs it through the tracker. */
  hold: boolean;
  /** Its deadline has passed: the tracker ends it failed/deadline without a container. */
  pastDeadline: boolean;
}

export interface TemplateCase {
  template: unknown;
  expected: Expected;
}

export interface CaseOptions {
  image: string;
  /** A directory of the worker's host for the jobs' files: inputs, outputs, bind mounts. */
  dir: string;
  /** An existing readable file in `dir`, and what it holds. */
  inputFile: string;
  inputText: string;
  /** The worker's host name: the only queueName a job may name without waiting for ever. */
  hostName: string;
  /** Through a real worker: no dates far in the future (the job would wait for them). */
  endToEnd: boolean;
}

/** What one part adds to a template and what it implies. */
interface Part {
  fields?: Record<string, unknown>;
  env?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  ext?: Record<string, unknown>;
  /** The client refuses it with one of these. */
  client?: readonly ErrorKind[];
  /** The worker (Podman) refuses it with one of these. */
  worker?: readonly ErrorKind[];
  /** The worker may refuse it with one of these (its powers, Podman's limits), or run it. */
  may?: readonly ErrorKind[];
  rm?: boolean;
  hold?: boolean;
  pastDeadline?: boolean;
  outputFile?: string;
  /** Replaces the command's exit status (a restart policy ends with the command's own). */
  exitCode?: number;
}

interface Command extends Part {
  exitCode: number;
  stdout?: string;
}

const INVALID: readonly ErrorKind[] = ['InvalidArgument'];
const UNSUPPORTED: readonly ErrorKind[] = ['UnsupportedAttribute'];
/** A worker may deny what reaches beyond the container (privileged, host namespaces, mounts, GPUs). */
const POWER: readonly ErrorKind[] = ['DeniedByDrms'];
/** Podman or the runtime may refuse an odd but well-formed value when the container is made or started. */
const PODMAN: readonly ErrorKind[] = ['InvalidArgument', 'OutOfResource'];

const noNul = (s: string) => !s.includes('\0');
/** Text with the odd characters templates meet: unicode, '=', quotes, blanks, newlines, the empty string. */
const oddText = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary-ascii', maxLength: 12 }),
    fc.constantFrom('', ' ', '=', 'a=b=c', '$HOME', '"\'`', 'line1\nline2', 'tab\there', 'ü', '😀', '\r\n', '\\n'),
  )
  .filter(noNul);
const hugeText = (min: number, max: number) => fc.integer({ min, max }).map((n) => 'x'.repeat(n));
const envKey = oddText.filter((k) => k !== '' && !k.includes('=') && k !== 'PT_VAR');
const word = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,11}$/);

function commands(o: CaseOptions): fc.Arbitrary<Command> {
  // busybox echo reads a first argument such as -n or -e as an option.
  const echoArg = oddText.filter((a) => !a.startsWith('-'));
  return fc.oneof(
    fc.constant<Command>({ fields: { remoteCommand: 'true' }, exitCode: 0, stdout: '' }),
    fc.constant<Command>({ fields: { remoteCommand: 'false' }, exitCode: 1, stdout: '' }),
    fc.constant<Command>({ fields: {}, exitCode: 0, stdout: '' }), // the image's own command: sh, at end of input
    fc.integer({ min: 0, max: 255 }).map<Command>((n) => ({
      fields: { remoteCommand: 'sh', args: ['-c', `exit ${n}`] },
      exitCode: n,
      stdout: '',
    })),
    fc.array(echoArg, { maxLength: 4 }).map<Command>((args) => ({
      fields: { remoteCommand: 'echo', args },
      exitCode: 0,
      stdout: `${args.join(' ')}\n`,
    })),
    oddText.map<Command>((v) => ({
      fields: { remoteCommand: 'sh', args: ['-c', 'printf %s "$PT_VAR"'] },
      env: { PT_VAR: v },
      exitCode: 0,
      stdout: v,
    })),
    fc
      .array(
        fc.oneof(
          word.map((w) => `w${w}`),
          fc.constantFrom('..', '.', ''),
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map<Command>((segments) => {
        const dir = `/${segments.join('/')}`;
        return {
          fields: { remoteCommand: 'pwd', workingDirectory: dir },
          exitCode: 0,
          stdout: `${posix.normalize(dir).replace(/(.)\/$/, '$1')}\n`,
        };
      }),
    fc.integer({ min: 0, max: 3 }).map<Command>((n) => ({
      fields: { remoteCommand: 'sh', args: ['-c', `echo out; echo err >&2; exit ${n}`] },
      exitCode: n,
      stdout: 'out\n',
    })),
    fc.constant<Command>({
      fields: { remoteCommand: 'cat', inputPath: o.inputFile },
      exitCode: 0,
      stdout: o.inputText,
    }),
  );
}

/** Fields that a worker runs as they say. */
function validParts(o: CaseOptions): fc.Arbitrary<Part> {
  const limits = fc.oneof(
    fc.constantFrom('64m', '128MB', '1g', ' 256m ', '0.5g', '65536k', '67108864', '100M').map((memory) => ({ memory })),
    fc.constantFrom('0.5', '1', '0.25', '2').map((cpus) => ({ cpus })),
    fc.constantFrom('-1', '64', '1000').map((pids) => ({ pids })),
  );
  // A job's ulimits replace Podman's defaults: on a host without CAP_SYS_RESOURCE (as here) they must
  // keep nofile and nproc within its hard limits (README, troubleshooting), so these always name both.
  const ulimitLimits = fc
    .oneof(
      fc.constantFrom('1024', '4096').map((OPEN_FILES) => ({ OPEN_FILES })),
      fc.constantFrom('0', '-1', '1048576').map((CORE_FILE_SIZE) => ({ CORE_FILE_SIZE, OPEN_FILES: '1024' })),
      fc.constantFrom('60', '-1').map((CPU_TIME) => ({ CPU_TIME, OPEN_FILES: '1024' })),
    )
    .map((l) => ({ limits: l, ext: { ulimit: 'nproc=4096' } }));
  const dates = o.endToEnd
    ? fc.constantFrom('2000-01-01T00:00:00Z', new Date(Date.now() - 60_000).toISOString(), '0001-01-01T00:00:00Z', '')
    : fc.constantFrom(
        '9999-12-31T23:59:59Z',
        '1970-01-01T00:00:00+05:30',
        '0001-01-01T00:00:00Z',
        '2000-02-29T12:00:00.123Z',
      );
  return fc.oneof(
    oddText.map((jobName) => ({ fields: { jobName } })),
    word.map((jobName) => ({ fields: { jobName: `pt-${jobName}` } })), // a container name: used as one
    hugeText(10_000, 60_000).map((jobName) => ({ fields: { jobName } })),
    oddText.map((accountingString) => ({ fields: { accountingString } })),
    fc.dictionary(envKey, oddText, { maxKeys: 4 }).map((env) => ({ env })),
    fc.constantFrom(null, []).map((email) => ({ fields: { email } })),
    fc.constant({ fields: { jobEnvironment: null, candidateMachines: null } }),
    limits.map((l) => ({ limits: l })),
    ulimitLimits,
    fc.integer({ min: 0, max: 65536 }).map((minPhysMemory) => ({ fields: { minPhysMemory } })),
    word.map((h) => ({ fields: { candidateMachines: [`h${h}`] } })),
    fc.constant({ fields: { candidateMachines: ['', ''] } }),
    fc.constantFrom(0, 1).map((n) => ({ fields: { minSlots: n, maxSlots: n, priority: 0 } })),
    fc.constantFrom('linux', 'Linux', 'LINUX', '').map((machineOs) => ({ fields: { machineOs } })),
    fc.boolean().map((reRunnable) => ({ fields: { reRunnable, joinFiles: false, emailOnStarted: false } })),
    dates.map((startTime) => ({ fields: { startTime } })),
    fc
      .constantFrom('2999-01-01T00:00:00Z', '0001-01-01T00:00:00Z')
      // A later deadline replaces a past one, and with it the expectation.
      .map((deadlineTime) => ({ fields: { deadlineTime }, pastDeadline: false })),
    fc.constant({ fields: { deadlineTime: '2000-01-01T00:00:00Z' }, pastDeadline: true }),
    fc.constant({ fields: { queueName: o.hostName } }),
    fc.constant({ fields: { submitAsHold: true }, hold: true }),
    fc.integer({ min: 0, max: 65535 }).map((uid) => ({ ext: { user: `${uid}` } })),
    fc.integer({ min: 0, max: 65535 }).map((gid) => ({ ext: { user: `${gid}:${gid}` } })),
    fc.constantFrom('root', 'nobody', '0:0').map((user) => ({ ext: { user } })),
    fc.constantFrom('true', 'TRUE', true).map((rm) => ({ ext: { rm }, rm: true })),
    fc.constantFrom('false', '', false).map((rm) => ({ ext: { rm }, rm: false })),
    fc.constantFrom('false', false).map((privileged) => ({ ext: { privileged } })),
    fc.constantFrom('no').map((restart) => ({ ext: { restart } })),
    fc.constantFrom('private', 'shareable', 'none').map((ipc) => ({ ext: { ipc } })),
    fc.constantFrom('private').map((mode) => ({ ext: { uts: mode, pid: mode } })),
    fc.constantFrom('none', 'bridge').map((net) => ({ ext: { net } })),
    fc.constantFrom('64m', '1m', '2097152').map((shm) => ({ ext: { 'shm-size': shm } })),
    fc
      .constantFrom(
        'nofile=1024:2048,nproc=4096',
        'nproc=100,nofile=4096',
        'core=0,stack=8388608,nofile=1024,nproc=4096',
      )
      .map((ulimit) => ({ ext: { ulimit } })),
    fc.constant({ ext: { entrypoint: '[]' } }),
    fc
      .uuid()
      .map((u) => `${o.dir}/out/${u}.txt`)
      .map((outputPath) => ({ fields: { outputPath }, outputFile: outputPath })),
    fc.constant({ fields: { errorPath: `${o.dir}/err/e.txt` } }),
    fc.constant({ fields: { extension: null } }),
  );
}

/** Well-formed fields that reach beyond the container, or that Podman or the kernel may refuse. */
function edgyParts(o: CaseOptions): fc.Arbitrary<Part> {
  return fc.oneof(
    fc.constantFrom('true', true).map((privileged) => ({ ext: { privileged }, may: POWER })),
    fc.constantFrom('ipc', 'uts', 'pid', 'net').map((ns) => ({ ext: { [ns]: 'host' }, may: POWER })),
    // A bind source that does not exist yet is made, as Docker's API does.
    fc.constantFrom(o.dir, `${o.dir}/made-by-podman`).map((host) => ({
      fields: { stageInFiles: { [host]: '/data' } },
      may: [...POWER, ...PODMAN],
    })),
    fc.constantFrom('all', '1').map((gpus) => ({ ext: { gpus }, may: [...POWER, ...PODMAN] })),
    fc
      .integer({ min: 23000, max: 23999 })
      .map((p) => ({ ext: { exposedPorts: `127.0.0.1:${p}:80/tcp` }, may: PODMAN })),
    fc
      .constantFrom('1k', '100k', '1m')
      .map((memory) => ({ fields: { minPhysMemory: 0 }, limits: { memory }, may: PODMAN })),
    fc.constantFrom('0.001', '64').map((cpus) => ({ limits: { cpus }, may: PODMAN })),
    fc.constantFrom('1', '2').map((pids) => ({ limits: { pids }, may: PODMAN })),
    fc.constantFrom('1000000', '30000').map((OPEN_FILES) => ({ limits: { OPEN_FILES }, may: PODMAN })),
    fc.constantFrom('1b', '4k').map((shm) => ({ ext: { 'shm-size': shm }, may: PODMAN })),
    oddText.filter((h) => h.length <= 64).map((h) => ({ fields: { candidateMachines: [h] }, may: PODMAN })),
    fc.constantFrom('nofile=30000', 'nproc=999999999').map((ulimit) => ({ ext: { ulimit }, may: PODMAN })),
  );
}

/** Well-formed templates the worker must refuse: Podman cannot make or start their container. */
function workerRefusedParts(o: CaseOptions): fc.Arbitrary<Part> {
  return fc.oneof(
    fc.constantFrom('nosuchuser', 'nosuchuser:nosuchgroup').map((user) => ({ ext: { user }, worker: INVALID })),
    fc
      .constantFrom('nosuchnet', 'container:nosuchcontainer')
      .map((net) => ({ ext: { net }, worker: INVALID, may: POWER })),
    fc.constant({ ext: { ipc: 'container:nosuchcontainer' }, worker: INVALID, may: POWER }),
    fc.constant({ ext: { pid: 'ns:/nonexistent' }, worker: INVALID, may: POWER }),
    fc.constant({ ext: { entrypoint: '["/nonexistent"]' }, worker: INVALID }),
    fc.constantFrom('no-such-command', '/etc').map((remoteCommand) => ({ fields: { remoteCommand }, worker: INVALID })),
    fc.constantFrom('/proc/nonexistent', '/etc/passwd').map((workingDirectory) => ({
      fields: { workingDirectory },
      worker: INVALID,
    })),
    fc.constant({ ext: { ulimit: 'nofile=100:50' }, worker: INVALID }),
    fc.constantFrom('UPPER/Case', 'a@b', 'localhost/podman-tracker-nope/none:latest').map((jobCategory) => ({
      fields: { jobCategory },
      worker: INVALID,
    })),
    fc.constantFrom(o.dir, `${o.inputFile}/below`, '/proc/nope/out').map((outputPath) => ({
      fields: { outputPath },
      worker: INVALID,
    })),
    fc.constantFrom(o.dir, `${o.dir}/no-such-input`).map((inputPath) => ({ fields: { inputPath }, worker: INVALID })),
  );
}

/** What the client's validation refuses, by kind. */
function invalidParts(o: CaseOptions): fc.Arbitrary<Part> {
  const bad = (fields: Record<string, unknown>): Part => ({ fields, client: INVALID });
  const wrongTypes: Array<[string, unknown[]]> = [
    ['remoteCommand', [5, true, {}, [1], 1.5, null]],
    ['args', [5, true, {}, 'x', [1], [null]]],
    ['jobEnvironment', [5, true, 'x', [1], { A: 1 }]],
    ['workingDirectory', [5, true, {}, []]],
    ['jobName', [5, false, {}, []]],
    ['submitAsHold', ['yes', 1, {}, null]],
    ['resourceLimits', ['x', [1], 5]],
    ['candidateMachines', ['h1', [1], {}]],
    ['stageInFiles', ['x', ['/a'], { '/a': 5 }]],
  ];
  return fc.oneof(
    fc
      .constantFrom(...wrongTypes.flatMap(([field, values]) => values.map((v) => [field, v] as const)))
      .map(([field, v]) => bad({ [field]: v })),
    fc.oneof(fc.integer(), fc.constant(null), fc.constant([])).map((v) => ({ env: { A: v }, client: INVALID })),
    fc.constantFrom('', '=', 'A=B').map((k) => ({ env: { [k]: 'v' }, client: INVALID })),
    fc.constantFrom('a\0b', `${'x'.repeat(131_072)}`).map((v) => ({ env: { NUL_OR_HUGE: v }, client: INVALID })),
    fc.constantFrom('a\0b', 'x'.repeat(140_000)).map((a) => bad({ remoteCommand: 'echo', args: [a] })),
    fc.constantFrom('relative/dir', 'w', './x', '/a\0b').map((workingDirectory) => bad({ workingDirectory })),
    fc.constantFrom('', '  ', 'has space', 'a\tb').map((jobCategory) => bad({ jobCategory })),
    fc.constant(bad({ jobCategory: undefined })),
    fc.constantFrom(-1, 1.5, Number.NaN, Infinity, '1').map((n) => bad({ minSlots: n })),
    fc.constantFrom(-5, 2.5, '3').map((n) => bad({ minPhysMemory: n })),
    fc.constantFrom(0.5, '1').map((n) => bad({ priority: n })),
    fc
      .constantFrom('tomorrow', '2024-13-45T00:00:00Z', '2024-01-01', 'NaN', 12345)
      .map((startTime) => bad({ startTime })),
    fc.constantFrom('yesterday', '99999-01-01T00:00:00Z').map((deadlineTime) => bad({ deadlineTime })),
    fc.constantFrom('yes', 1, 'true').map((submitAsHold) => bad({ submitAsHold })),
    fc.record({ k: word.map((w) => `unknown_${w}`), v: oddText }).map(({ k, v }) => bad({ [k]: v })),
    fc.constantFrom('x', 5, [], { other: {} }, { extensionList: 'x' }).map((extension) => bad({ extension })),
    fc.constantFrom({ a: [] }, { a: null }, { a: {} }).map((list) => bad({ extension: { extensionList: list } })),
    fc
      .constantFrom('0', '-1m', '1x', 'NaN', '', '99999999999t', 'm')
      .map((memory) => ({ limits: { memory }, client: INVALID })),
    fc
      .constantFrom('0', '-1', 'abc', 'NaN', 'Infinity', '1e400', '1e30')
      .map((cpus) => ({ limits: { cpus }, client: INVALID })),
    fc.constantFrom('0', '-2', '1.5', 'x', '1e30').map((pids) => ({ limits: { pids }, client: INVALID })),
    fc
      .constantFrom('abc', '-5', '1.5', '99999999999999999999')
      .map((v) => ({ limits: { STACK_SIZE: v }, client: INVALID })),
    fc.constantFrom(5, true, null).map((v) => ({ limits: { memory: v }, client: INVALID })),
    fc.constantFrom('GPU_COUNT', 'wallclock', '').map((k) => ({ limits: { [k]: '1' }, client: UNSUPPORTED })),
    fc.constant({ fields: { minPhysMemory: 2_000_000 }, limits: { memory: '64m' }, client: INVALID }),
    fc.constant(bad({ candidateMachines: ['h1', 'h2'] })),
    fc.constant(bad({ candidateMachines: ['h'.repeat(65)] })),
    fc.constantFrom('a\0b').map((h) => bad({ candidateMachines: [h] })),
    hugeText(270_000, 400_000).map((accountingString) => bad({ accountingString })),
    fc
      .constantFrom('relative/in.txt', '/a\0b')
      .map((inputPath) =>
        inputPath.startsWith('/') ? bad({ inputPath }) : { fields: { inputPath }, worker: INVALID },
      ),
    fc.constantFrom('/tmp/a\0b').map((outputPath) => bad({ outputPath })),
    fc.constantFrom({ [o.dir]: 'data' }, { '/a:b': '/data' }, { [o.dir]: '/d,e' }).map((m) => bad({ stageInFiles: m })),
    // Refused by name: DRMAA2 fields this system cannot honour.
    fc.constantFrom(['a@b.c'], ['']).map((email) => ({ fields: { email }, client: UNSUPPORTED })),
    fc.constant({ fields: { emailOnTerminated: true }, client: UNSUPPORTED }),
    fc.constant({ fields: { reservationID: 'r1' }, client: UNSUPPORTED }),
    fc.integer({ min: 2, max: 1000 }).map((n) => ({ fields: { maxSlots: n }, client: UNSUPPORTED })),
    fc.integer({ min: 1, max: 10 }).map((n) => ({ fields: { priority: -n }, client: UNSUPPORTED })),
    fc.constantFrom('windows', 'darwin').map((machineOs) => ({ fields: { machineOs }, client: UNSUPPORTED })),
    fc.constantFrom('arm64', 'x86_64').map((machineArch) => ({ fields: { machineArch }, client: UNSUPPORTED })),
    fc.constant({ fields: { stageOutFiles: { '/out': '/tmp/x' } }, client: UNSUPPORTED }),
    word.map((k) => ({ ext: { [`x-${k}`]: 'v' }, client: UNSUPPORTED })),
    // Extensions with values they cannot take.
    fc.constantFrom('a b', 'a:b:c', ':', '', 'u\0').map((user) => ({ ext: { user }, client: INVALID })),
    fc
      .constantFrom('70000:80', 'abc', '1.2.3:80:80', '0:80', '80:80/sctp', '[zz]:80:80')
      .map((exposedPorts) => ({ ext: { exposedPorts }, client: INVALID })),
    fc.constantFrom('maybe', 'yes', 1).map((privileged) => ({ ext: { privileged }, client: INVALID })),
    fc.constantFrom('sometimes', 'on-failure:x', 'on-failure:99999999999999999999').map((restart) => ({
      ext: { restart },
      client: INVALID,
    })),
    fc.constantFrom('bogus', 'container:', '').map((ipc) => ({ ext: { ipc }, client: INVALID })),
    fc.constantFrom('bogus', 'ns:').map((v) => ({ ext: { pid: v }, client: INVALID })),
    fc.constantFrom('yes', 'no').map((rm) => ({ ext: { rm }, client: INVALID })),
    fc.constantFrom('[1]', '[', '', '["a\\u0000"]').map((entrypoint) => ({ ext: { entrypoint }, client: INVALID })),
    fc.constantFrom('bad net!', '-x').map((net) => ({ ext: { net }, client: INVALID })),
    fc.constantFrom('0', 'huge', '999999999999t').map((shm) => ({ ext: { 'shm-size': shm }, client: INVALID })),
    fc
      .constantFrom('bogus=1', 'nofile', 'nofile=99999999999999999999')
      .map((ulimit) => ({ ext: { ulimit }, client: INVALID })),
    fc.constantFrom('x', '0', '-1').map((gpus) => ({ ext: { gpus }, client: INVALID })),
  );
}

/** Merges the parts into one template and works out what it must come to. */
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function assemble(o: CaseOptions, command: Command, parts: Part[], whole?: { value: unknown }): TemplateCase {
  const all: Part[] = [command, ...parts];
  const fields: Record<string, unknown> = { jobCategory: o.image };
  const env: Record<string, unknown> = {};
  const limits: Record<string, unknown> = {};
  const ext: Record<string, unknown> = {};
  for (const p of all) {
    Object.assign(fields, p.fields);
    Object.assign(env, p.env);
    Object.assign(limits, p.limits);
    Object.assign(ext, p.ext);
  }
  // A map of the wrong type stays as it is: what it stands for is a refusal.
  const merge = (into: unknown, map: Record<string, unknown>) =>
    !Object.keys(map).length ? into : into == null ? map : isMap(into) ? { ...into, ...map } : into;
  fields.jobEnvironment = merge(fields.jobEnvironment, env);
  fields.resourceLimits = merge(fields.resourceLimits, limits);
  if (Object.keys(ext).length) {
    const e = fields.extension;
    fields.extension =
      e == null ? { extensionList: ext } : isMap(e) ? { ...e, extensionList: merge(e.extensionList, ext) } : e;
  }
  for (const [k, v] of Object.entries(fields)) if (v === undefined) delete fields[k];

  const kinds = (pick: (p: Part) => readonly ErrorKind[] | undefined) => [
    ...new Set(all.flatMap((p) => pick(p) ?? [])),
  ];
  const client = kinds((p) => p.client);
  const worker = kinds((p) => p.worker);
  const may = kinds((p) => p.may);
  const last = <K extends keyof Part>(k: K) =>
    all
      .map((p) => p[k])
      .filter((v) => v !== undefined)
      .at(-1);
  const expected: Expected = {
    clientRefuses: whole !== undefined || client.length > 0,
    refused: whole !== undefined || client.length > 0 || worker.length > 0,
    kinds: whole !== undefined ? [...INVALID] : client.length > 0 ? client : [...new Set([...worker, ...may])],
    exitCode: command.exitCode,
    stdout: command.stdout,
    outputFile: fields.joinFiles ? undefined : (last('outputFile') as string | undefined),
    rm: Boolean(last('rm')),
    hold: Boolean(last('hold')),
    pastDeadline: Boolean(last('pastDeadline')),
  };
  return { template: whole ? whole.value : fields, expected };
}

/** How often each sort of template comes, relative to the others. */
export interface CaseWeights {
  valid: number;
  edgy: number;
  workerRefused: number;
  invalid: number;
  notATemplate: number;
}

/** Mostly invalid templates: they cost no container, so many can be tried. */
export const CHEAP_MIX: CaseWeights = { valid: 3, edgy: 1, workerRefused: 1, invalid: 12, notATemplate: 1 };

/** Templates of every sort, each with what it must come to. */
export function templateCases(o: CaseOptions, w: CaseWeights = CHEAP_MIX): fc.Arbitrary<TemplateCase> {
  const notATemplate = fc.oneof(
    fc.constantFrom(null, 5, 'template', [], true),
    fc.array(fc.string(), { maxLength: 2 }),
  );
  const valid = fc.array(validParts(o), { maxLength: 4 });
  return fc.oneof(
    { weight: w.valid, arbitrary: fc.tuple(commands(o), valid).map(([c, p]) => assemble(o, c, p)) },
    {
      weight: w.edgy,
      arbitrary: fc.tuple(commands(o), valid, edgyParts(o)).map(([c, p, e]) => assemble(o, c, [...p, e])),
    },
    {
      weight: w.workerRefused,
      arbitrary: fc.tuple(commands(o), valid, workerRefusedParts(o)).map(([c, p, w]) => assemble(o, c, [...p, w])),
    },
    {
      weight: w.invalid,
      arbitrary: fc
        .tuple(commands(o), valid, fc.option(edgyParts(o)), fc.array(invalidParts(o), { minLength: 1, maxLength: 2 }))
        .map(([c, p, e, bad]) => assemble(o, c, [...p, ...(e ? [e] : []), ...bad])),
    },
    { weight: w.notATemplate, arbitrary: notATemplate.map((value) => assemble(o, { exitCode: 0 }, [], { value })) },
  );
}
