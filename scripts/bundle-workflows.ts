// Bundles the workflow code once at build time, so a worker does not run webpack at every start.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundleOptions } from '../worker/workflow-code.js';

const { code } = await bundleWorkflowCode(bundleOptions());
const out = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
await writeFile(out, code);
console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
