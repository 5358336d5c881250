/**
 * `rxscale serve --workers 2` (node:cluster) as a user runs it: the compiled CLI in a child
 * process, two worker processes behind one port answering predictions, and a graceful stop
 * on SIGTERM (exit code 0, workers gone). Needs dist/ (npm test builds it first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../lib/cli/main.js';
import { rxLinMod, rxPredict } from '../../lib/models/index.js';
import { rxSerializeModel } from '../../lib/scoring/serialize.js';

const bin = join(__dirname, '../../dist/lib/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'rxscale-cluster-'));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => resolve(a.port));
    });
  });

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('rxscale serve --workers', () => {
  it('rejects a bad worker count with exit code 1', async () => {
    const err: string[] = [];
    const code = await cli(['serve', '--models', dir, '--workers', '0'], { out: () => {}, err: (t) => err.push(t) });
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/positive integer for --workers/);
  });

  it('serves from two worker processes on one port and stops gracefully on SIGTERM', async () => {
    const speed = Array.from({ length: 40 }, (_, i) => 4 + (i % 21));
    const kind = speed.map((_, i) => (i % 3 === 0 ? 'a' : 'b'));
    const dist = speed.map((s, i) => 3 * s + (kind[i] === 'a' ? 5 : 0) + ((i * 7) % 5));
    const m = await rxLinMod('dist ~ speed + kind', { speed, kind, dist });
    writeFileSync(join(dir, 'cars.rxm'), rxSerializeModel(m));
    const port = await freePort();
    child = spawn(process.execPath, [bin, 'serve', '--models', dir, '--port', String(port), '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const c = child;
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      c.stderr!.on('data', (d) => {
        stderr += d;
        const hit = /listening on (\S+) with 1 model\(s\), 2 worker processes/.exec(stderr);
        if (hit) resolve(hit[1]!);
      });
      c.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    if (process.platform === 'linux') expect(childPids(c.pid!).length).toBe(2);
    const want = (await rxPredict(m, { speed: [10, 20], kind: ['a', 'b'] }))['dist_Pred'] as Float64Array;
    // separate connections, so both workers get some
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${url}/v1/models/cars/predict`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ columns: { speed: [10, 20], kind: ['a', 'b'] } }) }).then((r) => r.json() as Promise<{ outputs: { dist_Pred: number[] } }>),
      ),
    );
    for (const a of answers) for (let i = 0; i < 2; i++) expect(Math.abs(a.outputs.dist_Pred[i]! - want[i]!)).toBeLessThanOrEqual(1e-9);
    const exit = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    c.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stderr).toMatch(/shutting down/);
  }, 60_000);
});
