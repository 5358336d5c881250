import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The child runs compiled code: rebuild dist/ when it is older than the sources it uses.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const child = join(root, 'test', 'data', 'fixtures', 'text-memory-child.mjs');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-textmem-'));
  const built = join(dist, 'lib', 'data', 'text.js');
  const src = join(root, 'lib', 'data');
  let srcTime = 0;
  for (const f of readdirSync(src)) if (f.startsWith('text') && f.endsWith('.ts')) srcTime = Math.max(srcTime, statSync(join(src, f)).mtimeMs);
  if (!existsSync(built) || statSync(built).mtimeMs < srcTime)
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  if (!existsSync(built)) throw new Error('dist/lib/data/text.js could not be built');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RxTextData bounded memory', () => {
  it('reading a file 20x larger than rowsPerRead keeps RSS and heap flat after the first chunks', () => {
    // 400k rows (~14 MB) in 20 chunks of 20k rows, 1 MiB blocks. If chunks, strings or
    // block results were retained, heap would grow by about the data size (> 12 MB).
    const file = join(dir, 'm.csv');
    const r = spawnSync(process.execPath, ['--expose-gc', child, dist, `gen:400000:${file}`, '20000', String(1 << 20)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(m.rows).toBe(400_000);
    expect(m.chunks).toBe(20);
    expect(statSync(file).size).toBeGreaterThan(12e6);
    // bounds: one chunk of this data is ~0.5 MB of arrays plus ~1 MB of strings
    expect(m.peakHeapAfter2MiB - m.heapAfter2MiB).toBeLessThan(8);
    expect(m.peakRssAfter2MiB - m.rssAfter2MiB).toBeLessThan(16);
  });
});
