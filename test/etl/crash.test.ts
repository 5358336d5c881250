import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxImport } from '../../lib/etl/import.js';

// The child runs compiled code: rebuild dist/ when it is older than the sources it uses.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const fixture = join(root, 'test', 'etl', 'fixtures', 'crash-import.mjs');

function newestMtime(dirs: string[]): number {
  let t = 0;
  for (const d of dirs) for (const f of readdirSync(d)) if (f.endsWith('.ts')) t = Math.max(t, statSync(join(d, f)).mtimeMs);
  return t;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-crash-'));
  const built = join(dist, 'lib', 'etl', 'import.js');
  const srcTime = newestMtime([join(root, 'lib', 'etl'), join(root, 'lib', 'data'), join(root, 'lib', 'expr')]);
  if (!existsSync(built) || statSync(built).mtimeMs < srcTime) {
    // tsc emits even when files elsewhere have type errors; the check below is what matters
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
  }
  if (!existsSync(built)) throw new Error('dist/lib/etl/import.js could not be built');
}, 300_000); // a full tsc build on a busy 2-core machine can exceed the default hook timeout
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runUntilKilled(out: string, overwrite: boolean): Promise<{ sawTemp: boolean; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, dist, out, String(overwrite)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sawTemp = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('WRITING') && !child.killed) {
        sawTemp = readdirSync(dirname(out)).some((f) => f.startsWith(`.${out.split('/').pop()}.tmp-`));
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve({ sawTemp, stdout });
    });
  });
}

describe('crash safety', () => {
  it('SIGKILL during rxImport leaves no file under the final name (it was being written to a temp file)', async () => {
    const out = join(dir, 'killed.xdf');
    const r = await runUntilKilled(out, false);
    expect(r.stdout).not.toContain('DONE');
    expect(r.sawTemp).toBe(true);
    expect(existsSync(out)).toBe(false);
  });

  it('SIGKILL while overwriting leaves the previous file complete and readable', async () => {
    const out = join(dir, 'keep.xdf');
    await rxImport({ inData: { x: [1, 2, 3] }, outFile: out });
    const before = readFileSync(out);
    const r = await runUntilKilled(out, true);
    expect(r.stdout).not.toContain('DONE');
    expect(readFileSync(out).equals(before)).toBe(true);
    expect(await new RxXdfData(out).numRows()).toBe(3);
  });
});
