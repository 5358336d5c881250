import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../lib/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'rxscale-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await cli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const csv = join(dir, 'cars.csv');
writeFileSync(csv, `speed,dist,kind\n${Array.from({ length: 50 }, (_, i) => `${4 + (i % 21)},${2 + ((i * 37) % 120)},${i % 3 === 0 ? 'a' : 'b'}`).join('\n')}\n`);

describe('rxscale CLI', () => {
  it('prints help and rejects unknown commands / bad arguments with exit code 1', async () => {
    const h = await run('--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/Commands:[\s\S]*linmod[\s\S]*serve[\s\S]*quickstart/);
    expect((await run('linmod', '--help')).out).toMatch(/Usage: rxscale linmod <formula> <data>/);
    const u = await run('frobnicate');
    expect(u.code).toBe(1);
    expect(u.err).toMatch(/unknown command "frobnicate"/);
    const bad = await run('linmod', 'dist ~ speed');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/expected 2 argument/);
    const flag = await run('info', csv, '--no-such-flag');
    expect(flag.code).toBe(1);
  });

  it('info describes a CSV file, also as JSON', async () => {
    const r = await run('info', csv);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Number of observations: 50/);
    const j = await run('info', csv, '--json');
    expect(JSON.parse(j.out)).toMatchObject({ numRows: 50 });
  });

  it('fits, saves, and scores a model; data errors exit 1 with the message', async () => {
    const model = join(dir, 'cars.rxm');
    const fit = await run('linmod', 'dist ~ speed', csv, '--out', model);
    expect(fit.code, fit.err).toBe(0);
    expect(fit.out).toMatch(/speed/);
    const p = await run('predict', model, csv, '--json');
    expect(p.code, p.err).toBe(0);
    const rows = JSON.parse(p.out) as Array<Record<string, number>>;
    expect(rows).toHaveLength(50);
    expect(typeof rows[0]!.dist_Pred).toBe('number');
    const typo = await run('linmod', 'dist ~ sped', csv);
    expect(typo.code).toBe(1);
    expect(typo.err).toMatch(/sped/);
    const missing = await run('info', join(dir, 'nope.csv'));
    expect(missing.code).toBe(1);
  });
});

describe('rxscale CLI with tree models', () => {
  it('fits rxDTree (printed like rpart) and rxDForest, saves and scores them through rxPredict', async () => {
    const model = join(dir, 'tree.rxm');
    const fit = await run('dtree', 'dist ~ speed', csv, '--out', model, '--options', '{"maxDepth":2,"minSplit":5}');
    expect(fit.code, fit.err).toBe(0);
    expect(fit.out).toMatch(/node\), split, n, deviance, yval/);
    const p = await run('predict', model, csv, '--json');
    expect(p.code, p.err).toBe(0);
    expect(JSON.parse(p.out)).toHaveLength(50);
    const forest = await run('dforest', 'kind ~ speed + dist', csv, '--options', '{"nTree":5,"seed":1}');
    expect(forest.code, forest.err).toBe(0);
    expect(forest.out).toMatch(/rxDForest: kind ~ speed \+ dist[\s\S]*number of trees: 5/);
  });
});
