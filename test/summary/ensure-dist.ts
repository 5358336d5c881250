// RxLocalParallel workers run compiled JS from dist/ (they import dist/lib/index.js to find
// the summary accumulators): rebuild dist when a summary / compute / data source is newer.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/native/loader.js';

function newest(dir: string): number {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    if (f.isDirectory()) t = Math.max(t, newest(p));
    else if (f.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

export function ensureDist(): void {
  const root = packageRoot();
  const out = ['dist/lib/workers/pema-worker.js', 'dist/lib/index.js', 'dist/lib/summary/summary.js', 'dist/lib/summary/crosstabs.js', 'dist/lib/summary/quantile.js', 'dist/lib/summary/covcor.js'].map((p) => join(root, p));
  const srcT = Math.max(...['lib/summary', 'lib/compute', 'lib/data', 'lib/expr'].map((d) => newest(join(root, d))), statSync(join(root, 'lib/index.ts')).mtimeMs);
  if (out.every((p) => existsSync(p) && statSync(p).mtimeMs >= srcT)) return;
  // tsc emits even when files elsewhere have type errors; only the outputs matter here.
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  for (const p of out) if (!existsSync(p)) throw new Error(`tsc did not produce ${p}`);
}
