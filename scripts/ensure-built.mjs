#!/usr/bin/env node
// Builds whatever is missing or stale before tests/benchmarks: the native addon
// (incremental cmake build) and the TypeScript output in dist/ (used by worker
// threads, the CLI and benchmarks).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!process.env.RXSCALE_NATIVE_PATH) run(process.execPath, [join(root, 'scripts', 'build-native.mjs')]);
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
