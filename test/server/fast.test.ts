/**
 * The server's native JSON hot path (lib/server/fast.ts) on a real listening server:
 * tree classifiers, tree regression and a linear model with factors are answered from the
 * native scorer, and every response equals rxPredictTrees / rxPredict / rxScore (tolerance 1e-12:
 * same decisions and additions; numbers go through JSON text, which round-trips doubles
 * exactly). Bad input gives the same 4xx answers as the generic path. A formula with an
 * expression term the native scorer does not take (I(age^2)) is served by the generic path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rxLinMod, rxPredict } from '../../lib/models/index.js';
import { rxScore } from '../../lib/onnx/scorer.js';
import { rxSerializeModel } from '../../lib/scoring/serialize.js';
import { createScoringServer, type ScoringServer } from '../../lib/server/server.js';
import { type RxTreeModel, rxBTrees, rxDTree, rxFastTrees, rxPredictTrees } from '../../lib/trees/index.js';
import { type Table, readCsv, sliceTable } from '../onnx/helpers.js';

const TOL = 1e-12;
let dir: string;
let server: ScoringServer;
let base: string;
let test: Table;
const models: Record<string, RxTreeModel | Awaited<ReturnType<typeof rxLinMod>>> = {};

const post = (name: string, body: unknown) =>
  fetch(`${base}/v1/models/${name}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

const X = 'age + workclass + education_num + occupation + sex + hours_per_week';

beforeAll(async () => {
  const t = readCsv('adult.csv');
  t.income = (t.y as number[]).map((v) => (v === 1 ? 'gt50K' : 'le50K'));
  const train = sliceTable(t, 0, 800);
  test = sliceTable(t, 1000, 1040);
  (test.age as Array<number | null>)[3] = null;
  (test.workclass as Array<string | null>)[4] = null;
  models.ft = await rxFastTrees(`income ~ ${X}`, train, { numTrees: 15, numLeaves: 8, randomSeed: 1 });
  models.dtree = await rxDTree(`income ~ ${X}`, train, { cp: 0.005 });
  models.btreg = await rxBTrees('hours_per_week ~ age + sex + occupation', train, { lossFunction: 'gaussian', nTree: 10, maxDepth: 3, seed: 2 });
  models.lin = await rxLinMod('hours_per_week ~ age + sex * education_num + occupation', train);
  models.loglin = await rxLinMod('hours_per_week ~ log(age) + sex', train);
  models.sqlin = await rxLinMod('hours_per_week ~ I(age^2) + sex', train);
  dir = mkdtempSync(join(tmpdir(), 'rxscale-fast-'));
  for (const [k, m] of Object.entries(models)) writeFileSync(join(dir, `${k}.rxm`), rxSerializeModel(m));
  server = await createScoringServer({ modelsDir: dir, watch: false });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function rowsOf(t: Table, cols: string[], a: number, b: number): Array<Record<string, unknown>> {
  return Array.from({ length: b - a }, (_, i) => Object.fromEntries(cols.map((c) => [c, t[c]![a + i]])));
}

function expectClose(got: unknown[], want: ArrayLike<unknown>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const w = want[i];
    if (typeof w === 'number') {
      if (Number.isNaN(w)) expect(got[i], `${what}[${i}]`).toBeNull();
      else expect(Math.abs((got[i] as number) - w), `${what}[${i}]`).toBeLessThanOrEqual(TOL);
    } else expect(got[i], `${what}[${i}]`).toBe(w);
  }
}

describe('scoring server native hot path', () => {
  it('compiles the native-scorable models and leaves other expressions to the generic path', () => {
    const fast = Object.fromEntries(server.models().map((s) => [s.name, s.fast !== undefined]));
    expect(fast).toEqual({ ft: true, dtree: true, btreg: true, lin: true, loglin: true, sqlin: false });
  });

  it('answers rows and columns requests as rxPredictTrees / rxPredict, one row and many', async () => {
    const cols = server.models().find((s) => s.name === 'ft')!.inputs.map((i) => i.name);
    const refs: Record<string, Record<string, ArrayLike<unknown>>> = {
      ft: await rxPredictTrees(models.ft as RxTreeModel, test),
      // rxDTree: the native engine's answer (the JS rpart path sends a row missing its split
      // variable elsewhere than the flattened default direction that native and ONNX share)
      dtree: await rxScore(models.dtree as RxTreeModel, test, { engine: 'native' }),
      btreg: await rxPredictTrees(models.btreg as RxTreeModel, test),
      lin: await rxPredict(models.lin as Awaited<ReturnType<typeof rxLinMod>>, test, { checkFactorLevels: false }),
      loglin: await rxPredict(models.loglin as Awaited<ReturnType<typeof rxLinMod>>, test, { checkFactorLevels: false }),
      sqlin: await rxPredict(models.sqlin as Awaited<ReturnType<typeof rxLinMod>>, test, { checkFactorLevels: false }),
    };
    for (const [name, ref] of Object.entries(refs)) {
      const keys = Object.keys(ref);
      const n = (test.age as unknown[]).length;
      // many rows as objects
      const r = (await (await post(name, { rows: rowsOf(test, [...cols, 'hours_per_week'], 0, n) })).json()) as any;
      expect(r.rows).toBe(n);
      for (const k of keys)
        expectClose(
          r.predictions.map((p: any) => p[k]),
          ref[k]!,
          `${name} rows ${k}`,
        );
      // columns
      const c = (await (await post(name, { columns: Object.fromEntries([...cols, 'hours_per_week'].map((k) => [k, test[k]])) })).json()) as any;
      expect(Object.keys(c.outputs).sort()).toEqual([...keys].sort());
      for (const k of keys) expectClose(c.outputs[k], ref[k]!, `${name} columns ${k}`);
      // one row at a time (the bound single-row path), including the rows with missing values
      for (const i of [0, 3, 4, 17]) {
        const one = (await (await post(name, { rows: rowsOf(test, [...cols, 'hours_per_week'], i, i + 1) })).json()) as any;
        for (const k of keys) expectClose([one.predictions[0][k]], [ref[k]![i]], `${name} row ${i} ${k}`);
        const oc = (await (await post(name, { columns: Object.fromEntries([...cols, 'hours_per_week'].map((k) => [k, [test[k]![i]]])) })).json()) as any;
        for (const k of keys) expectClose(oc.outputs[k], [ref[k]![i]], `${name} column row ${i} ${k}`);
      }
    }
    const empty = (await (await post('ft', { rows: [] })).json()) as any;
    expect(empty).toEqual({ model: 'ft', rows: 0, predictions: [] });
  });

  it('answers bad requests with the same 4xx JSON errors, and keeps serving', async () => {
    const ok = { age: 40, workclass: 'Private', education_num: 10, occupation: 'Sales', sex: 'Male', hours_per_week: 40 };
    const cases: Array<[unknown, number, RegExp, string?]> = [
      ['{"rows": [', 400, /JSON/i],
      [[1, 2], 400, /rows.*columns/],
      [{ rows: 5 }, 400, /"rows" must be an array/, 'rows'],
      [{ rows: [ok, 7] }, 400, /rows\[1\] must be an object/, 'rows[1]'],
      [{ rows: [{ ...ok, age: 'NaN' }] }, 400, /field "age" \(row 0\) must be a number or null, got string "NaN"/, 'age'],
      [{ rows: [{ ...ok, age: true }] }, 400, /field "age".*got boolean/, 'age'],
      [{ rows: [{ ...ok, sex: 1 }] }, 400, /field "sex" \(row 0\) must be a string level/, 'sex'],
      [{ rows: [ok, { ...ok, occupation: 'Martian' }] }, 400, /field "occupation" \(row 1\) has unknown level "Martian"/, 'occupation'],
      [{ rows: [{ age: 40 }] }, 400, /rows\[0\] is missing field "workclass"/, 'workclass'],
      [{ columns: [] }, 400, /"columns" must be an object/, 'columns'],
      [{ columns: { age: [1, 2], workclass: ['Private'] } }, 400, /column "workclass" has 1 values, expected 2/, 'workclass'],
      [{ columns: { age: [1] } }, 400, /missing column "workclass"/, 'workclass'],
      [{ columns: { age: 1 } }, 400, /column "age" must be an array/, 'age'],
      [{ nothing: true }, 400, /rows.*columns/],
    ];
    for (const [body, status, re, field] of cases) {
      const r = await post('ft', body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      const j = (await r.json()) as any;
      expect(j.error).toMatch(re);
      if (field) expect(j.field).toBe(field);
    }
    const r = await post('ft', { rows: [ok] });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).predictions[0].PredictedLabel).toMatch(/gt50K|le50K/);
  });
});
