// Bundles the `podman-tracker` command (esbuild) over the compiled dist/cli/main.js: a command then
// reads a few files instead of resolving hundreds of modules, and loads only its own chunk (client
// commands never load the worker, which stays outside: dist/worker/worker.js, imported at `worker`).
import { build, type Plugin } from 'esbuild';
import { readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outdir = fileURLToPath(new URL('../cli', import.meta.url));

/** The worker and what only it needs are imported from dist/ and node_modules at run time, not bundled. */
const workerOutside: Plugin = {
  name: 'worker-outside',
  setup(b) {
    b.onResolve({ filter: /\/worker\/worker\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

// Chunks of an earlier build go first: their names carry hashes.
for (const f of await readdir(outdir))
  if (/^(chunk|commands|session|progress|errors)-.*\.js$/.test(f)) await rm(`${outdir}/${f}`);

const result = await build({
  entryPoints: { main: `${root}/cli/main.ts` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // Names stay as they are: workflows are started by their function's name (minified, jobWorkflow
  // would go as another type), and esbuild's keepNames would name every function again at load.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  allowOverwrite: true,
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies (grpc-js, protobufjs) require Node's modules: give the ES module a require.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  external: ['@temporalio/worker', '@temporalio/core-bridge', 'dockerode', 'ssh2', 'cpu-features'],
  plugins: [workerOutside],
});
// tsc's own main.js is replaced: its source map would point at what is no longer there.
await rm(`${outdir}/main.js.map`, { force: true });
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`cli bundle: ${outdir}/main.js and its chunks (${(bytes / 1024).toFixed(0)} KiB)`);
