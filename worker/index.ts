// `podman-tracker/worker`: the ready worker process as a function (what `podman-tracker worker`
// runs), its configuration from flags and variables, and the plugin it is built on.
export {
  configFromEnv,
  createWorker,
  logLevelFromEnv,
  runWorker,
  workerConfig,
  type PodmanTrackerWorker,
  type WorkerConfig,
  type WorkerFlags,
} from './worker.js';
export { PodmanTrackerPlugin, type PodmanTrackerPluginOptions } from './plugin.js';
export { bundleOptions, workflowInterceptorModules } from './workflow-code.js';
