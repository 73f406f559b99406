// Where the worker's workflow code comes from: the bundle `make build` made, or the sources. Every
// bundle carries the workflow interceptors (workflows/interceptors.ts), replayers' included.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BundleOptions, WorkerOptions } from '@temporalio/worker';

/** A module of this package's workflows/ folder: compiled (.js) in dist, its source (.ts) in a checkout. */
function workflowsModule(name: string): string {
  const js = fileURLToPath(new URL(`../workflows/${name}.js`, import.meta.url));
  const ts = fileURLToPath(new URL(`../workflows/${name}.ts`, import.meta.url));
  return existsSync(js) ? js : ts;
}

/** The workflow interceptor modules every bundle of podman-tracker's workflows needs. */
export function workflowInterceptorModules(): string[] {
  return [workflowsModule('interceptors')];
}

/** Bundle options for a workflows file (podman-tracker's own, or one that re-exports them). */
export function bundleOptions(workflowsPath = workflowsModule('index')): BundleOptions {
  return { workflowsPath, workflowInterceptorModules: workflowInterceptorModules() };
}

/** The bundle made by `make build`; without it (in tests) the sources are bundled at start. */
export function workflowSource(
  workflowsPath?: string,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors'> {
  const bundle = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
  if (!workflowsPath && existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  const { workflowsPath: path, workflowInterceptorModules: workflowModules } = bundleOptions(workflowsPath);
  return { workflowsPath: path, interceptors: { workflowModules } };
}
