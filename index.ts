// podman-tracker's package root: the DRMAA2 JobTracker client, its types and errors, the data
// converter, the Temporal connection helper and the plugin for users' workers and clients.
// Workflow code is in `podman-tracker/workflows`, the activities in `podman-tracker/activities`,
// the ready worker process in `podman-tracker/worker`.
export { PodmanTracker, type PodmanTrackerOptions } from './client/tracker.js';
export { connectClient, temporalConnection, type TemporalConnection, type TemporalFlags } from './client/connection.js';
export { PodmanTrackerPlugin, type PodmanTrackerPluginOptions } from './worker/plugin.js';
export { dataConverterFor, dataConverterFromEnv, encryptionKeysFromEnv } from './common/data-converter.js';
export { EncryptionCodec, parseKeys, type EncryptionKey } from './common/encryption.js';
export { DrmaaError, ERROR_KINDS, type ErrorKind } from './common/errors.js';
export { END_STATES, JOB_CONTROL_ACTIONS, JOB_STATES, type JobControlAction, type JobState } from './common/states.js';
export {
  JobInfoSchema,
  JobTemplateSchema,
  parseJobTemplate,
  type JobInfo,
  type JobTemplate,
  type JobTemplateInput,
} from './common/template.js';
export type { PowerSettings, WorkerPowers } from './common/powers.js';
export type { JobWorkflowInput, JobWorkflowResult } from './workflows/job.js';
export type { ArrayJobInput, ArrayJobResult } from './workflows/array.js';
export type { ArrayJobInfo, JobStatusView } from './workflows/definitions.js';
