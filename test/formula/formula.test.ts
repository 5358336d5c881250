import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Chunk, Column, DataSource } from '../../lib/data/types.js';
import { RxError } from '../../lib/errors.js';
import { withTransforms } from '../../lib/expr/source.js';
import { buildModelMatrix, buildPredictorColumns, createModelSpec, modelVariables, parseFormula, termLabels } from '../../lib/formula/index.js';
import type { ModelMatrix, ModelSpec } from '../../lib/formula/index.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/formula');
// Fixtures made by test/fixtures/formula/make_fixtures.R (R's terms() and model.matrix()).
const rTerms = JSON.parse(readFileSync(join(FIX, 'terms.json'), 'utf8')) as Array<{ formula: string; labels: string[]; intercept: boolean }>;
const rMatrices = JSON.parse(readFileSync(join(FIX, 'matrices.json'), 'utf8')) as Array<{ formula: string; coding: 'last' | 'first'; colnames: string[]; rows: number[]; X: number[] }>;

function loadData(): Record<string, Column> {
  const lines = readFileSync(join(FIX, 'data.csv'), 'utf8').trim().split('\n');
  const header = lines[0]!.split(',').map((h) => h.replace(/"/g, ''));
  const rows = lines.slice(1).map((l) => l.split(',').map((v) => v.replace(/"/g, '')));
  const col = (name: string) => rows.map((r) => r[header.indexOf(name)]!);
  const num = (name: string): Column => ({ type: 'float64', data: Float64Array.from(col(name), (v) => (v === '' ? Number.NaN : Number(v))) });
  const fac = (name: string, levels: string[]): Column => {
    const vals = col(name);
    const valid = Uint8Array.from(vals, (v) => (v === '' ? 0 : 1));
    return { type: 'factor', data: Int32Array.from(vals, (v) => Math.max(0, levels.indexOf(v))), levels, valid };
  };
  const s = col('s');
  return {
    y: num('y'),
    x: num('x'),
    z: num('z'),
    f: fac('f', ['a', 'b', 'c']),
    g: fac('g', ['u', 'v', 'w']),
    k: num('k'),
    s: { type: 'string', data: s.map((v) => (v === '' ? null : v)), valid: Uint8Array.from(s, (v) => (v === '' ? 0 : 1)) },
  };
}

async function build(spec: ModelSpec, src: DataSource, rowsPerRead?: number): Promise<{ X: number[][]; rows: number[]; y: number[]; nMissing: number }> {
  // concatenates chunk matrices row-wise (X as rows of p values)
  const X: number[][] = [];
  const rows: number[] = [];
  const y: number[] = [];
  let nMissing = 0;
  for await (const ch of src.chunks({ columns: spec.sourceColumns, ...(rowsPerRead ? { rowsPerRead } : {}) })) {
    const mm: ModelMatrix = buildModelMatrix(spec, ch);
    for (let i = 0; i < mm.n; i++) {
      const row: number[] = [];
      for (let j = 0; j < mm.p; j++) row.push(mm.X[j * mm.n + i]!);
      X.push(row);
      rows.push(ch.startRow + mm.rowIndex[i]! + 1);
      if (mm.y) y.push(mm.y[i]!);
    }
    nMissing += mm.nMissing;
  }
  return { X, rows, y, nMissing };
}

describe('parseFormula', () => {
  // R parity: attr(terms(f), "term.labels") and attr(, "intercept") from terms.json
  for (const c of rTerms) {
    it(`expands ${c.formula} like R`, () => {
      const f = parseFormula(c.formula);
      expect(termLabels(f)).toEqual(c.labels);
      expect(f.intercept).toBe(c.intercept);
    });
  }

  it('keeps response, offsets and conditioning', () => {
    const f = parseFormula('log(y) ~ a + offset(log(w)) + b');
    expect(f.response).toMatchObject({ type: 'call', fn: 'log' });
    expect(f.offsets).toHaveLength(1);
    const h = parseFormula('~ x | F + G');
    expect(h.response).toBeNull();
    expect(termLabels(h)).toEqual(['x']);
    expect(h.conditioning).toEqual(['F', 'G']);
    expect(JSON.parse(JSON.stringify(parseFormula('y ~ a*b')))).toEqual(parseFormula('y ~ a*b'));
  });

  it('names the bad term in errors', () => {
    const bad: Array<[string, RegExp]> = [
      ['y ~ a + "b"', /invalid term "\\"b\\""|invalid term ""b""/],
      ['y ~ a + x > 1', /operator ">"|has no formula meaning/],
      ['y ~ a^x', /invalid power/],
      ['y ~ a + 2', /invalid term "2"/],
      ['y ~ ~ a', /only one "~"/],
      ['y + a', /needs "~"/],
      ['y ~ a +', /Invalid formula/],
    ];
    for (const [text, re] of bad) {
      let err: unknown;
      try {
        parseFormula(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(RxError);
      expect((err as RxError).code).toBe('RX_FORMULA');
      expect((err as RxError).message).toMatch(re);
    }
  });
});

describe('createModelSpec + buildModelMatrix vs R model.matrix', () => {
  const data = loadData();
  const source = new RxMemoryData(data);
  // The R fixture uses Fk = factor(floor(k), levels = 1:5) for F(k, 1, 5).
  const toRx = (f: string) => f.replace('Fk', 'F(k, 1, 5)');
  for (const c of rMatrices) {
    it(`${c.formula} (${c.coding === 'last' ? 'RevoScaleR coding, last level reference' : 'dropFirst: true'})`, async () => {
      const spec = await createModelSpec(toRx(c.formula), source, { dropFirst: c.coding === 'first' });
      // JSON-serialisable
      expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
      if (!c.formula.includes('Fk')) expect(spec.rNames).toEqual(c.colnames);
      expect(spec.p).toBe(c.colnames.length);
      for (const rowsPerRead of [5, 100]) {
        const { X, rows, nMissing } = await build(spec, source, rowsPerRead);
        expect(rows).toEqual(c.rows);
        expect(nMissing).toBe(16 - c.rows.length);
        const n = c.rows.length;
        // exact inputs (3 decimals) and at most one log/product: 1e-12 relative is far above rounding
        for (let j = 0; j < spec.p; j++) {
          for (let i = 0; i < n; i++) {
            const r = c.X[j * n + i]!;
            expect(Math.abs(X[i]![j]! - r), `${c.colnames[j]} row ${c.rows[i]}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(r)));
          }
        }
      }
    });
  }

  it('names coefficients like RevoScaleR and lists dropped reference levels', async () => {
    const spec = await createModelSpec('y ~ f + x:g + F(k, 1, 5)', source);
    expect(spec.columns.map((c) => (c.dropped ? `${c.name} (Dropped)` : c.name))).toEqual([
      '(Intercept)',
      'f=a',
      'f=b',
      'f=c (Dropped)',
      'F_k=1',
      'F_k=2',
      'F_k=3',
      'F_k=4',
      'F_k=5 (Dropped)',
      'x for g=u',
      'x for g=v',
      'x for g=w',
    ]);
    const cube = await createModelSpec('y ~ f:g', source, { dropFirst: false });
    expect(cube.coefNames.slice(0, 4)).toEqual(['(Intercept)', 'f=a, g=u', 'f=b, g=u', 'f=c, g=u']);
  });

  it('supports cube, dropMain, offsets and `.`', async () => {
    const cube = await createModelSpec('y ~ f + x', source, { cube: true });
    expect(cube.cube).toBe(true);
    expect(cube.intercept).toBe(false);
    expect(cube.coefNames).toEqual(['f=a', 'f=b', 'f=c', 'x']);
    await expect(createModelSpec('y ~ x + f', source, { cube: true })).rejects.toThrow(/cube = TRUE needs a factor as the first term \(the first term is "x"\)/);
    const dm = await createModelSpec('y ~ f*x', source, { dropMain: true });
    // both main effects are dropped; f's margin {x} is then absent, so f gets full indicators
    expect(dm.rNames).toEqual(['(Intercept)', 'fa:x', 'fb:x', 'fc:x']);
    const off = await createModelSpec('y ~ x + offset(2 * z)', source);
    let mm: ModelMatrix | undefined;
    for await (const ch of source.chunks()) mm = buildModelMatrix(off, ch);
    expect(mm!.offset![0]).toBeCloseTo(2 * (data['z']!.data as Float64Array)[0]!, 12);
    const dot = await createModelSpec('y ~ . - s - k', source);
    expect(dot.terms.map((t) => t.label)).toEqual(['x', 'z', 'f', 'g']);
    expect(dot.sourceColumns).toEqual(['y', 'x', 'z', 'f', 'g']);
  });

  it('reads levels of string columns and F() ranges in one pass when the schema lacks them', async () => {
    let passes = 0;
    const spy: DataSource = {
      kind: 'memory',
      schema: () => source.schema(),
      chunks: (o) => {
        passes++;
        return source.chunks({ ...o, rowsPerRead: 4 });
      },
    };
    const spec = await createModelSpec('y ~ s + F(k) + factor(round(x))', spy);
    expect(passes).toBe(1);
    expect(spec.variables.map((v) => v.levels)).toEqual([
      ['apple', 'fig', 'pear'],
      ['1', '2', '3', '4', '5'],
      ['1', '2', '3', '4', '5'],
    ]);
    const none = await createModelSpec('y ~ x + f', spy);
    expect(none.p).toBe(4);
    expect(passes).toBe(1);
  });

  it('handles unknown factor levels at predict time per checkFactorLevels', async () => {
    const spec = await createModelSpec('y ~ f + x', source);
    const newData = new RxMemoryData({ y: [1, 2], x: [1, 2], f: ['a', 'zzz'] });
    let ch: Chunk | undefined;
    for await (const c of newData.chunks()) ch = c;
    expect(() => buildModelMatrix(spec, ch!)).toThrow(/level "zzz"/);
    const mm = buildModelMatrix(spec, ch!, { checkFactorLevels: false });
    expect(mm.n).toBe(1);
    expect(mm.nMissing).toBe(1);
    expect(Array.from(mm.X)).toEqual([1, 1, 0, 1]); // (Intercept), f=a, f=b, x
    // response columns may be absent when predicting
    const noY = new RxMemoryData({ x: [3], f: ['b'] });
    for await (const c of noY.chunks()) {
      const m2 = buildModelMatrix(spec, c);
      expect(m2.y).toBeNull();
      expect(Array.from(m2.X)).toEqual([1, 0, 1, 3]);
    }
  });

  it('reuses a scratch buffer across chunks with identical results', async () => {
    const spec = await createModelSpec('y ~ f*x + g', source);
    const scratch = {};
    const cloned = structuredClone(spec); // what a worker thread receives
    for await (const ch of source.chunks({ rowsPerRead: 6 })) {
      const a = buildModelMatrix(cloned, ch);
      const b = buildModelMatrix(spec, ch, { scratch });
      expect(Array.from(b.X)).toEqual(Array.from(a.X));
    }
  });

  it('drops rows with non-finite values and works through withTransforms', async () => {
    const src = withTransforms(new RxMemoryData({ y: [1, 2, 3, 4], x: [1, 0, -1, 2] }), { transforms: { lx: 'log(x)' }, rowSelection: 'y < 4' });
    const spec = await createModelSpec('y ~ lx + I(1/x)', src);
    let mm: ModelMatrix | undefined;
    for await (const ch of src.chunks({ columns: spec.sourceColumns })) mm = buildModelMatrix(spec, ch);
    // x = 0 gives log(0) = -Inf, x = -1 gives NaN: both rows are missing
    expect(mm!.n).toBe(1);
    expect(mm!.nMissing).toBe(2);
    expect(Array.from(mm!.rowIndex)).toEqual([0]);
  });

  it('gives unknown columns and bad terms as RX_FORMULA errors naming them', async () => {
    await expect(createModelSpec('y ~ x + nope', source)).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'nope' });
    await expect(createModelSpec('y ~ x + frob(z)', source)).rejects.toThrow(/bad term "frob\(z\)"/);
    await expect(createModelSpec('y ~ F(s)', source)).rejects.toThrow(/F\(\) needs a numeric argument/);
  });

  it('uses low/high from the schema for F(), and codes factor and logical responses', async () => {
    const base = new RxMemoryData({ k: [2.5, 3.9, 7, 4.2], ok: [true, false, true, null], f: ['no', 'yes', 'yes', 'no'] });
    const withRange: DataSource = {
      kind: 'memory',
      schema: async () => {
        const s = await base.schema();
        return { ...s, columns: s.columns.map((c) => (c.name === 'k' ? { ...c, low: 2, high: 5 } : c)) };
      },
      chunks: (o) => base.chunks(o),
    };
    const spec = await createModelSpec('f ~ F(k)', withRange);
    expect(spec.variables[0]!.levels).toEqual(['2', '3', '4', '5']);
    expect(spec.response).toMatchObject({ kind: 'factor', levels: ['no', 'yes'] });
    for await (const ch of withRange.chunks()) {
      // 7 is outside [2, 5]: an error by default, a missing row with checkFactorLevels: false
      expect(() => buildModelMatrix(spec, ch)).toThrow(/level "7"/);
      const mm = buildModelMatrix(spec, ch, { checkFactorLevels: false });
      expect(Array.from(mm.rowIndex)).toEqual([0, 1, 3]);
      expect(Array.from(mm.y!)).toEqual([0, 1, 0]); // codes of the response levels
      // columns: (Intercept), F_k=2, F_k=3, F_k=4 (F_k=5 is the dropped reference)
      expect(spec.coefNames).toEqual(['(Intercept)', 'F_k=2', 'F_k=3', 'F_k=4']);
      expect(Array.from(mm.X)).toEqual([1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    }
    const lg = await createModelSpec('ok ~ k', base);
    expect(lg.response!.kind).toBe('logical');
    for await (const ch of base.chunks()) expect(Array.from(buildModelMatrix(lg, ch).y!)).toEqual([1, 0, 1]);
  });

  it('exposes raw predictors for trees', async () => {
    const spec = await createModelSpec('y ~ x + f + log(z)', source);
    const mv = modelVariables(spec);
    expect(mv.response).toEqual({ name: 'y', type: 'numeric' });
    expect(mv.predictors.map((p) => [p.name, p.type, p.levels])).toEqual([
      ['x', 'numeric', undefined],
      ['f', 'factor', ['a', 'b', 'c']],
      ['log(z)', 'numeric', undefined],
    ]);
    for await (const ch of source.chunks()) {
      const pc = buildPredictorColumns(spec, ch);
      expect(pc.n).toBe(16); // missing predictors are kept for trees
      expect(Number.isNaN((pc.columns[0] as Float64Array)[2]!)).toBe(true);
      expect((pc.columns[1] as Int32Array)[6]).toBe(-1);
      expect((pc.columns[2] as Float64Array)[0]).toBeCloseTo(Math.log((data['z']!.data as Float64Array)[0]!), 14);
    }
  });
});
