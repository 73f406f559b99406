// The DRMAA2 JobTemplate and JobInfo as zod schemas, with the JSON field names of drmaa2interface.
// Every TypeScript type of a template or job info in the project is inferred from here.
import { z } from 'zod';
import { DrmaaError } from './errors.js';
import { JOB_STATES } from './states.js';

/** Go's zero time.Time, which drmaa2interface writes for an unset timestamp. */
const GO_ZERO_TIME = /^0001-01-01T00:00:00(\.0+)?Z$/;

const timestamp = z.preprocess(
  (v) => (v === '' || v === null || (typeof v === 'string' && GO_ZERO_TIME.test(v)) ? undefined : v),
  z.iso.datetime({ offset: true }).optional(),
);

const stringMap = z.record(z.string(), z.string());

/** Go writes an unset list or map as null: the same as leaving it out. */
function unsetWhenNull<T extends z.ZodType>(schema: T) {
  return schema
    .nullable()
    .transform((v) => v ?? undefined)
    .optional();
}

/** Extension values are strings in DRMAA2; JSON templates may say `true` or `8080` and mean the same. */
const extensionValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const EXTENSION_KEYS = [
  'user',
  'exposedPorts',
  'privileged',
  'restart',
  'ipc',
  'uts',
  'pid',
  'rm',
  'entrypoint',
  'net',
  'shm-size',
  'ulimit',
  'gpus',
] as const;
export type ExtensionKey = (typeof EXTENSION_KEYS)[number];

export const JobTemplateSchema = z
  .object({
    remoteCommand: z.string().optional(),
    args: unsetWhenNull(z.array(z.string())),
    submitAsHold: z.boolean().optional(),
    reRunnable: z.boolean().optional(),
    jobEnvironment: unsetWhenNull(stringMap),
    workingDirectory: z.string().optional(),
    jobCategory: z.string().optional(),
    email: unsetWhenNull(z.array(z.string())),
    emailOnStarted: z.boolean().optional(),
    emailOnTerminated: z.boolean().optional(),
    jobName: z.string().optional(),
    inputPath: z.string().optional(),
    outputPath: z.string().optional(),
    errorPath: z.string().optional(),
    joinFiles: z.boolean().optional(),
    reservationID: z.string().optional(),
    queueName: z.string().optional(),
    minSlots: z.number().int().nonnegative().optional(),
    maxSlots: z.number().int().nonnegative().optional(),
    priority: z.number().int().optional(),
    candidateMachines: unsetWhenNull(z.array(z.string())),
    minPhysMemory: z.number().int().nonnegative().optional(),
    machineOs: z.string().optional(),
    machineArch: z.string().optional(),
    startTime: timestamp,
    deadlineTime: timestamp,
    stageInFiles: unsetWhenNull(stringMap),
    stageOutFiles: unsetWhenNull(stringMap),
    resourceLimits: unsetWhenNull(stringMap),
    accountingString: z.string().optional(),
    extension: unsetWhenNull(z.object({ extensionList: unsetWhenNull(z.record(z.string(), extensionValue)) }).strict()),
  })
  .strict();

/** A template as a caller writes it (before defaults and coercions). */
export type JobTemplateInput = z.input<typeof JobTemplateSchema>;
/** A validated template, as it travels through workflows and activities. */
export type JobTemplate = z.output<typeof JobTemplateSchema>;

/** Parses a template; any schema violation is an InvalidArgument error that names the fields. */
export function parseJobTemplate(input: unknown): JobTemplate {
  const result = JobTemplateSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const path = i.path.length ? i.path.join('.') : 'template';
      return `${path}: ${i.message}`;
    });
    throw new DrmaaError('InvalidArgument', `invalid job template: ${problems.join('; ')}`);
  }
  return result.data;
}

export const JobInfoSchema = z.object({
  id: z.string(),
  exitStatus: z.number().int().optional(),
  terminationSignal: z.string().optional(),
  annotation: z.string().optional(),
  state: z.enum(JOB_STATES),
  subState: z.string().optional(),
  allocatedMachines: z.array(z.string()).optional(),
  submissionMachine: z.string().optional(),
  jobOwner: z.string().optional(),
  slots: z.number().int().optional(),
  queueName: z.string().optional(),
  /** Milliseconds between dispatch and finish (or now, while running); never negative. */
  wallclockTime: z.number().nonnegative().optional(),
  cpuTime: z.number().nonnegative().optional(),
  submissionTime: z.iso.datetime({ offset: true }).optional(),
  dispatchTime: z.iso.datetime({ offset: true }).optional(),
  finishTime: z.iso.datetime({ offset: true }).optional(),
  extension: z.object({ extensionList: z.record(z.string(), z.string()) }).optional(),
});
export type JobInfo = z.infer<typeof JobInfoSchema>;
