// Worker threads run compiled JS from dist/: rebuild it when a compute source is newer.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/native/loader.js';

function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    if (f.isDirectory()) t = Math.max(t, newest(p));
    else if (f.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Runs tsc when a .ts file under `dirs` (relative to the package root) is newer than the worker build. */
export function ensureDist(dirs: string[] = ['lib/compute', 'lib/workers', 'lib/data']): void {
  const root = packageRoot();
  const out = [join(root, 'dist/lib/workers/pema-worker.js'), join(root, 'dist/lib/compute/parallel.js'), join(root, 'dist/lib/compute/context.js')];
  const srcT = Math.max(...dirs.map((d) => newest(join(root, d))));
  if (out.every((p) => existsSync(p) && statSync(p).mtimeMs >= srcT)) return;
  // One tsc at a time across test files (vitest runs files in parallel processes).
  const lock = join(root, 'dist', '.compute-build-lock');
  mkdirSync(join(root, 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) break; // a stale lock: build anyway
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (out.every((p) => existsSync(p) && statSync(p).mtimeMs >= srcT)) return;
    // tsc emits even when files elsewhere have type errors; only the outputs matter here.
    spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  } finally {
    try {
      rmdirSync(lock);
    } catch {
      /* already gone */
    }
  }
  for (const p of out) if (!existsSync(p)) throw new Error(`tsc did not produce ${p}`);
}
