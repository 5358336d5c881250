/**
 * In-database pushdown (AccumulatorDef.pushdown) for the summary accumulators: rxSummary,
 * rxCube (rxCrossTabs uses it), rxCovCor and rxQuantile. Each pass becomes ONE SELECT whose
 * rows are turned into exactly the State the accumulator's process() would build, so
 * merge() (sharded PostgreSQL) and finalize() work unchanged.
 *
 * Moments: without weights, COUNT / AVG / VAR_POP * COUNT / MIN / MAX (DuckDB uses Welford,
 * PostgreSQL 12+ Youngs-Cramer for float8: both numerically stable); the State takes the
 * mean as its shift `k` with a relative mean of 0. With weights, a one-row subquery gives
 * each variable's weighted mean as a shift and the main scan sums w (x - k) and
 * w (x - k)^2 (the corrected two-pass formula of lib/summary/core.ts).
 * Factor cells come from GROUP BY on the factor values (text) or on trunc(x) for F(x);
 * levels the State does not know yet are appended exactly as codesOf() does.
 * Anything without an SQL form (date columns, unknown F() ranges ...) returns null and the
 * context streams the rows instead.
 */
import type { SqlPass, SqlPassContext } from '../compute/pema.js';
import type { Schema } from '../data/types.js';
import { fence, noSql, nullDouble, num, numCol, orNull, textCol, textType, truncSql, varPop } from '../db/pushsql.js';
import { type FactorTrack, type Moments, gridSize, newMoments } from './core.js';
import { covCorAccumulator } from './covcor.js';
import { type CubeSpec, cubeAccumulator } from './crosstabs.js';
import { type QuantileSpec, quantileAccumulator } from './quantile.js';
import { type SummarySpec, summaryAccumulator } from './summary.js';

type Row = Record<string, unknown>;
type SummaryState = ReturnType<typeof summaryAccumulator.init>;
type CubeState = ReturnType<typeof cubeAccumulator.init>;
type CovCorState = ReturnType<typeof covCorAccumulator.init>;
type QuantileState = ReturnType<typeof quantileAccumulator.init>;

// ---------------------------------------------------------------------------------------
// Shared pieces

/** SQL key (text, NULL = missing / out of range) of a factor track over the inner row alias. */
function trackKey(ctx: SqlPassContext, schema: Schema, t: FactorTrack): string {
  if (t.kind === 'F') {
    if (!Number.isFinite(t.low) || !Number.isFinite(t.high)) noSql(`F(${t.name}) has no known range`);
    const x = numCol(ctx, schema, t.name);
    const tr = truncSql(ctx, x);
    return `CASE WHEN ${ctx.valid(x)} AND ${tr} >= ${ctx.param(t.low!)} AND ${tr} <= ${ctx.param(t.high!)} THEN CAST(CAST(${tr} AS BIGINT) AS ${textType(ctx)}) END`;
  }
  return textCol(ctx, schema, t.name);
}

/** Code of a key value in a track, appending unknown levels (as codesOf does); -1 = missing. */
function codeOf(t: FactorTrack, key: unknown, index: Map<string, number>): number {
  if (key === null || key === undefined) return -1;
  const s = String(key);
  if (t.kind === 'F') return Number(s) - t.low!;
  let j = index.get(s);
  if (j === undefined) {
    j = t.levels.length;
    t.levels.push(s);
    index.set(s, j);
  }
  return j;
}

/** Cell index of a row's keys in grid `dims` (first factor fastest); -1 when any key is missing. */
function cellOf(codes: number[], dims: number[]): number {
  let c = 0;
  let stride = 1;
  for (let f = 0; f < codes.length; f++) {
    if (codes[f]! < 0) return -1;
    c += codes[f]! * stride;
    stride *= dims[f]!;
  }
  return c;
}

/**
 * Aggregates for the moments of `v` (inner alias of a double, NULL where the row does not
 * count) with weight alias `w` (NULL where it does not count) and shift alias `k`.
 */
function momentAggs(ctx: SqlPassContext, v: string, w: string | null, k: string | null, p: string): string[] {
  if (!w) return [`COUNT(${v}) AS ${p}n`, `AVG(${v}) AS ${p}k`, `${varPop(ctx, v)} AS ${p}v`, `MIN(${v}) AS ${p}mn`, `MAX(${v}) AS ${p}mx`];
  const d = `(${v} - ${k})`;
  return [
    `COUNT(${v}) AS ${p}n`,
    `SUM(CASE WHEN ${v} IS NOT NULL THEN ${w} END) AS ${p}w`,
    `SUM(${w} * ${d}) AS ${p}s1`,
    `SUM(${w} * ${d} * ${d}) AS ${p}s2`,
    `MIN(${k}) AS ${p}k`,
    `MIN(${v}) AS ${p}mn`,
    `MAX(${v}) AS ${p}mx`,
  ];
}

/** Writes the moments read back from `r` (aliases with prefix p) into cell i of m. */
function setMoments(m: Moments, i: number, r: Row, p: string, weighted: boolean): void {
  const n = num(r[`${p}n`]);
  if (n === 0) return;
  m.n[i] = n;
  m.min[i] = num(r[`${p}mn`]);
  m.max[i] = num(r[`${p}mx`]);
  if (!weighted) {
    m.w[i] = n;
    m.k[i] = num(r[`${p}k`]);
    m.mean[i] = 0;
    m.m2[i] = Math.max(0, num(r[`${p}v`]) * n);
    return;
  }
  const W = num(r[`${p}w`]);
  const s1 = num(r[`${p}s1`]);
  const s2 = num(r[`${p}s2`]);
  m.w[i] = W;
  m.k[i] = num(r[`${p}k`]);
  m.mean[i] = W > 0 ? s1 / W : 0;
  m.m2[i] = W > 0 ? Math.max(0, s2 - (s1 * s1) / W) : 0;
}

/** Predicate "the weight counts": finite and >= 0 (the local rule !(w >= 0) skips). */
function weightOk(ctx: SqlPassContext, w: string): string {
  return `(${ctx.valid(w)} AND ${w} >= 0)`;
}

/** One-row subquery of weighted means (shifts) of inner aliases xs, over rows where x and w count. */
function shiftSubquery(ctx: SqlPassContext, inner: string, xs: string[], w: string): string {
  const list = xs.map((x, j) => `COALESCE(SUM(CASE WHEN ${weightOk(ctx, w)} AND ${ctx.valid(x)} THEN ${w} * ${x} END) / NULLIF(SUM(CASE WHEN ${weightOk(ctx, w)} AND ${ctx.valid(x)} THEN ${w} END), 0), 0) AS rx_s${j}`);
  return `(SELECT ${list.join(', ')} FROM ${inner} AS rx_sb) AS rx_sh`;
}

/** Range pass (F(x) without low/high): rows and min/max of each variable. */
function rangePass<S extends { rows: number; lo?: Float64Array; hi?: Float64Array }>(
  ctx: SqlPassContext,
  schema: Schema,
  vars: string[],
  make: () => S,
): SqlPass<S> {
  const aggs = ['COUNT(*) AS rx_rows'];
  vars.forEach((v, k) => {
    const x = numCol(ctx, schema, v);
    aggs.push(`MIN(CASE WHEN ${ctx.valid(x)} THEN ${x} END) AS rx_lo${k}`, `MAX(CASE WHEN ${ctx.valid(x)} THEN ${x} END) AS rx_hi${k}`);
  });
  return {
    sql: `SELECT ${aggs.join(', ')} FROM ${ctx.from}`,
    toState(rows) {
      const r = rows[0] ?? {};
      const s = make();
      s.rows = num(r.rx_rows);
      vars.forEach((_, k) => {
        s.lo![k] = num(r[`rx_lo${k}`], Number.POSITIVE_INFINITY);
        s.hi![k] = num(r[`rx_hi${k}`], Number.NEGATIVE_INFINITY);
      });
      return s;
    },
  };
}

// ---------------------------------------------------------------------------------------
// rxSummary

type SItem = SummarySpec['items'][number];

function summaryPass(spec: SummarySpec, schema: Schema, ctx: SqlPassContext): SqlPass<SummaryState> {
  if (spec.pass === 'range') return rangePass(ctx, schema, spec.rangeVars, () => summaryAccumulator.init(spec, schema));
  const proto = summaryAccumulator.init(spec, schema);
  const weighted = !!spec.weights;
  // inner select: every numeric variable, weight and factor key once
  const inner: string[] = [];
  const xAlias = new Map<string, string>();
  const xOf = (name: string) => {
    let a = xAlias.get(name);
    if (!a) {
      a = `rx_x${xAlias.size}`;
      xAlias.set(name, a);
      inner.push(`${numCol(ctx, schema, name)} AS ${a}`);
    }
    return a;
  };
  const keyAlias: string[][] = spec.items.map((_it, k) =>
    proto.items[k]!.tracks.map((t, f) => {
      const a = `rx_k${k}_${f}`;
      inner.push(`${trackKey(ctx, schema, t)} AS ${a}`);
      return a;
    }),
  );
  for (const it of spec.items) if (it.kind !== 'cat') xOf(it.x);
  const w = weighted ? 'rx_w' : null;
  if (w) inner.push(`${numCol(ctx, schema, spec.weights!)} AS rx_w`);
  // byTerm = false: a row counts only when every term variable is present
  const keepParts: string[] = [];
  if (!spec.byTerm) {
    spec.items.forEach((it, k) => {
      if (it.kind !== 'cat') keepParts.push(ctx.valid(xOf(it.x)));
      for (const a of keyAlias[k]!) keepParts.push(`${a} IS NOT NULL`);
    });
  }
  const keep = keepParts.length ? keepParts.join(' AND ') : 'TRUE';
  const wok = w ? weightOk(ctx, w) : 'TRUE';
  const innerSql = `(SELECT ${inner.length ? inner.join(', ') : '1 AS rx_one'} FROM ${ctx.from}${fence(ctx)})`;
  const numVars = [...xAlias.values()];
  const shiftJoin = w && numVars.length ? ` CROSS JOIN ${shiftSubquery(ctx, innerSql, numVars, w)}` : '';
  const shiftOf = (x: string) => `rx_sh.rx_s${numVars.indexOf(x)}`;
  const maxKeys = Math.max(0, ...keyAlias.map((a) => a.length));
  const counted = (x: string) => `CASE WHEN ${keep} AND ${wok} AND ${ctx.valid(x)} THEN ${x} END`;

  type Branch = { item: number; keys: string[]; values: string[]; from: string; where?: string; group?: boolean };
  const branches: Branch[] = [];
  // global branch: rows; per num/numby item: moments (with keep) and missing
  // each item's counted value (NULL where the row does not count) is computed once per row
  // in a fenced level, not once per aggregate; missing = rows that count - present values
  const gvals = ['COUNT(*) AS rx_rows'];
  const gInner = ['rx_b0.*', `CASE WHEN ${keep} AND ${wok} THEN 1 END AS rx_kw`];
  spec.items.forEach((it, k) => {
    if (it.kind === 'cat') return;
    const x = xOf(it.x);
    const v = `rx_v${k}`;
    gInner.push(`${counted(x)} AS ${v}`);
    gvals.push(`COUNT(rx_kw) - COUNT(${v}) AS rx_m${k}`);
    gvals.push(...momentAggs(ctx, v, w ? `CASE WHEN ${v} IS NOT NULL THEN ${w} END` : null, w ? shiftOf(x) : null, `rx_a${k}_`));
  });
  branches.push({ item: -1, keys: [], values: gvals, from: `(SELECT ${gInner.join(', ')} FROM ${innerSql} AS rx_b0${fence(ctx)}) AS rx_b${shiftJoin}` });
  spec.items.forEach((it, k) => {
    const keys = keyAlias[k]!;
    if (it.kind === 'cat') {
      const vals = ['COUNT(*) AS rx_c'];
      if (w) vals.push(`SUM(${w}) AS rx_cw`);
      branches.push({ item: k, keys, values: vals, from: `${innerSql} AS rx_b`, where: `${keep} AND ${wok}`, group: true });
    } else if (it.kind === 'numby') {
      const x = xOf(it.x);
      const vals = [`COUNT(CASE WHEN ${ctx.valid(x)} THEN 1 END) AS rx_gm`];
      vals.push(...momentAggs(ctx, `CASE WHEN ${wok} AND ${ctx.valid(x)} THEN ${x} END`, w ? `CASE WHEN ${wok} AND ${ctx.valid(x)} THEN ${w} END` : null, w ? shiftOf(x) : null, 'rx_'));
      branches.push({ item: k, keys, values: vals, from: `${innerSql} AS rx_b${shiftJoin}`, where: keep, group: true });
    }
  });
  const sql = unionAll(ctx, branches, maxKeys);
  return {
    sql: sql.text,
    toState(rows) {
      const st = summaryAccumulator.init(spec, schema);
      const indexes = st.items.map((s) => s.tracks.map((t) => new Map(t.levels.map((l, i) => [l, i]))));
      // first: every key value, so the grids have their final size
      const parsed = rows.map((raw) => {
        const r = sql.unpack(raw);
        const item = r.item;
        const codes = item >= 0 ? st.items[item]!.tracks.map((t, f) => codeOf(t, r.keys[f], indexes[item]![f]!)) : [];
        return { item, codes, v: r.values };
      });
      st.items.forEach((s, k) => {
        s.dims = s.tracks.map((t) => t.levels.length);
        const cells = gridSize(s.dims);
        const it = spec.items[k]! as SItem;
        if (it.kind === 'cat') {
          s.counts = new Float64Array(cells);
          s.rowsPerCell = new Float64Array(cells);
        } else if (it.kind === 'numby') s.cells = newMoments(cells);
      });
      for (const p of parsed) {
        if (p.item < 0) {
          st.rows += num(p.v.rx_rows);
          spec.items.forEach((it, k) => {
            if (it.kind === 'cat') return;
            const s = st.items[k]!;
            s.missing += num(p.v[`rx_m${k}`]);
            setMoments(s.all!, 0, p.v, `rx_a${k}_`, weighted);
          });
          continue;
        }
        const s = st.items[p.item]!;
        const it = spec.items[p.item]!;
        const cell = cellOf(p.codes, s.dims);
        if (it.kind === 'cat') {
          const c = num(p.v.rx_c);
          if (cell < 0) s.missing += c;
          else {
            s.rowsPerCell![cell] = s.rowsPerCell![cell]! + c;
            s.counts![cell] = s.counts![cell]! + (w ? num(p.v.rx_cw) : c);
          }
        } else if (cell < 0) s.groupMissing = s.groupMissing! + num(p.v.rx_gm);
        else setMoments(s.cells!, cell, p.v, 'rx_', weighted);
      }
      return st;
    },
  };
}

/**
 * UNION ALL of branches with one row shape: rx_i (item), rx_g0.. (text keys, NULL padded),
 * then each branch's values as doubles in numbered slots (NULL padded).
 */
function unionAll(ctx: SqlPassContext, branches: Array<{ item: number; keys: string[]; values: string[]; from: string; where?: string; group?: boolean }>, maxKeys: number) {
  const width = Math.max(...branches.map((b) => b.values.length));
  const names = branches.map((b) => b.values.map((v) => /\sAS\s+(\w+)$/.exec(v)![1]!));
  const parts = branches.map((b) => {
    const cols = [`CAST(${Math.trunc(b.item)} AS INTEGER) AS rx_i`]; // internal item index, not a user value
    for (let g = 0; g < maxKeys; g++) cols.push(g < b.keys.length ? `${b.keys[g]} AS rx_g${g}` : `CAST(NULL AS ${textType(ctx)}) AS rx_g${g}`);
    for (let j = 0; j < width; j++) {
      const v = b.values[j];
      cols.push(v ? `CAST(${v.replace(/\s+AS\s+\w+$/, '')} AS ${ctx.double}) AS rx_v${j}` : `${nullDouble(ctx)} AS rx_v${j}`);
    }
    let s = `SELECT ${cols.join(', ')} FROM ${b.from}`;
    if (b.where) s += ` WHERE ${b.where}`;
    if (b.group && b.keys.length) s += ` GROUP BY ${b.keys.join(', ')}`;
    return s;
  });
  const byItem = new Map(branches.map((b, i) => [b.item, names[i]!]));
  return {
    text: parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' UNION ALL '),
    unpack(r: Row) {
      const item = num(r.rx_i);
      const keys: unknown[] = [];
      for (let g = 0; g < maxKeys; g++) keys.push(r[`rx_g${g}`]);
      const values: Row = {};
      (byItem.get(item) ?? []).forEach((n, j) => {
        values[n] = r[`rx_v${j}`];
      });
      return { item, keys, values };
    },
  };
}

// ---------------------------------------------------------------------------------------
// rxCube / rxCrossTabs

function cubePass(spec: CubeSpec, schema: Schema, ctx: SqlPassContext): SqlPass<CubeState> {
  if (spec.pass === 'range') return rangePass(ctx, schema, spec.rangeVars, () => cubeAccumulator.init(spec, schema));
  const proto = cubeAccumulator.init(spec, schema);
  const inner: string[] = [];
  const keys = proto.tracks.map((t, f) => {
    inner.push(`${trackKey(ctx, schema, t)} AS rx_k${f}`);
    return `rx_k${f}`;
  });
  const xs = spec.deps.map((d, j) => {
    inner.push(`${numCol(ctx, schema, d)} AS rx_x${j}`);
    return `rx_x${j}`;
  });
  const w = spec.weights ? 'rx_w' : null;
  if (w) inner.push(`${numCol(ctx, schema, spec.weights!)} AS rx_w`);
  const okParts = [...keys.map((k) => `${k} IS NOT NULL`), ...xs.map((x) => ctx.valid(x))];
  if (w) okParts.push(weightOk(ctx, w));
  const ok = okParts.length ? okParts.join(' AND ') : 'TRUE';
  const innerSql = `(SELECT ${inner.length ? inner.join(', ') : '1 AS rx_one'} FROM ${ctx.from}${fence(ctx)})`;
  const vals = ['COUNT(*) AS rx_rows', `COUNT(CASE WHEN ${ok} THEN 1 END) AS rx_ok`];
  if (w) vals.push(`SUM(CASE WHEN ${ok} THEN ${w} END) AS rx_cw`);
  for (const [j, x] of xs.entries()) vals.push(...momentAggs(ctx, `CASE WHEN ${ok} THEN ${x} END`, w ? `CASE WHEN ${ok} THEN ${w} END` : null, w ? `rx_sh.rx_s${j}` : null, `rx_d${j}_`));
  const shift = w && xs.length ? ` CROSS JOIN ${shiftSubquery(ctx, innerSql, xs, w)}` : '';
  const sel = [...keys, ...vals];
  let sql = `SELECT ${sel.join(', ')} FROM ${innerSql} AS rx_b${shift}`;
  if (keys.length) sql += ` GROUP BY ${keys.join(', ')}`;
  return {
    sql,
    toState(rows) {
      const st = cubeAccumulator.init(spec, schema);
      const idx = st.tracks.map((t) => new Map(t.levels.map((l, i) => [l, i])));
      const codes = rows.map((r) => st.tracks.map((t, f) => codeOf(t, r[keys[f]!], idx[f]!)));
      st.dims = st.tracks.map((t) => t.levels.length);
      const cells = gridSize(st.dims);
      st.counts = new Float64Array(cells);
      st.deps = spec.deps.map(() => newMoments(cells));
      rows.forEach((r, i) => {
        const total = num(r.rx_rows);
        const okRows = num(r.rx_ok);
        st.rows += total;
        st.missing += total - okRows;
        const cell = cellOf(codes[i]!, st.dims);
        if (cell < 0 || okRows === 0) return;
        st.counts[cell] = st.counts[cell]! + (w ? num(r.rx_cw) : okRows);
        for (const [j, m] of st.deps.entries()) setMoments(m, cell, r, `rx_d${j}_`, !!w);
      });
      return st;
    },
  };
}

// ---------------------------------------------------------------------------------------
// rxCovCor

function covCorPass(spec: { vars: string[]; weights?: string }, schema: Schema, ctx: SqlPassContext): SqlPass<CovCorState> {
  const p = spec.vars.length;
  const inner = spec.vars.map((v, j) => `${numCol(ctx, schema, v)} AS rx_x${j}`);
  const w = spec.weights ? 'rx_w' : null;
  if (w) inner.push(`${numCol(ctx, schema, spec.weights!)} AS rx_w`);
  const okParts = spec.vars.map((_, j) => ctx.valid(`rx_x${j}`));
  if (w) okParts.push(weightOk(ctx, w));
  const ok = okParts.join(' AND ');
  const innerSql = `(SELECT ${inner.join(', ')} FROM ${ctx.from}${fence(ctx)})`;
  const wt = w ?? '1';
  // shifts: (weighted) means over the complete rows
  const shifts = spec.vars.map((_, j) => `COALESCE(SUM(CASE WHEN ${ok} THEN ${wt} * rx_x${j} END) / NULLIF(SUM(CASE WHEN ${ok} THEN ${wt} END), 0), 0) AS rx_s${j}`);
  const d = (j: number) => `(rx_x${j} - rx_sh.rx_s${j})`;
  const aggs = ['COUNT(*) AS rx_rows', `COUNT(CASE WHEN ${ok} THEN 1 END) AS rx_n`, `SUM(CASE WHEN ${ok} THEN ${wt} END) AS rx_w`];
  for (let j = 0; j < p; j++) {
    aggs.push(`MIN(rx_sh.rx_s${j}) AS rx_s${j}`, `SUM(CASE WHEN ${ok} THEN ${wt} * ${d(j)} END) AS rx_c${j}`);
    for (let i = 0; i <= j; i++) aggs.push(`SUM(CASE WHEN ${ok} THEN ${wt} * ${d(i)} * ${d(j)} END) AS rx_p${i}_${j}`);
  }
  return {
    sql: `SELECT ${aggs.join(', ')} FROM ${innerSql} AS rx_b CROSS JOIN (SELECT ${shifts.join(', ')} FROM ${innerSql} AS rx_sb) AS rx_sh`,
    toState(rows) {
      const r = rows[0] ?? {};
      const st = covCorAccumulator.init(spec as never, schema);
      const n = num(r.rx_n);
      st.missing = num(r.rx_rows) - n;
      if (n === 0) return st;
      const W = num(r.rx_w);
      st.n = n;
      st.w = W;
      st.shiftSet = true;
      const c1 = new Float64Array(p);
      for (let j = 0; j < p; j++) {
        st.shift[j] = num(r[`rx_s${j}`]);
        c1[j] = num(r[`rx_c${j}`]);
        st.mean[j] = W > 0 ? c1[j]! / W : 0;
      }
      for (let j = 0; j < p; j++)
        for (let i = 0; i <= j; i++) {
          const v = num(r[`rx_p${i}_${j}`]) - (W > 0 ? (c1[i]! * c1[j]!) / W : 0);
          st.c[i + j * p] = v;
          st.c[j + i * p] = v;
        }
      return st;
    },
  };
}

// ---------------------------------------------------------------------------------------
// rxQuantile
//
// Pass 1 returns n, missing, min and max only (no values kept), so finalize() asks for the
// refinement pass; that pass computes each wanted order statistic EXACTLY in the database
// (ROW_NUMBER over the sorted valid values) and reports it as an interval of width 0
// (inMin = inMax), which finalize() takes as the value. With method 'approx' on DuckDB the
// order statistics come from approx_quantile (a t-digest; error bound in the tests);
// PostgreSQL has no approximate quantile and computes them exactly either way.

function quantilePass(spec: QuantileSpec, schema: Schema, ctx: SqlPassContext): SqlPass<QuantileState> {
  // ranks are global: a table split over shards has no per-shard order statistic to merge
  if ((ctx as { partitioned?: boolean }).partitioned) noSql('order statistics of a partitioned table');
  const x = numCol(ctx, schema, spec.varName);
  const valid = ctx.valid(x);
  if (spec.pass === 'first') {
    return {
      sql: `SELECT COUNT(*) AS rx_rows, COUNT(CASE WHEN ${valid} THEN 1 END) AS rx_n, MIN(CASE WHEN ${valid} THEN ${x} END) AS rx_mn, MAX(CASE WHEN ${valid} THEN ${x} END) AS rx_mx FROM ${ctx.from}`,
      toState(rows) {
        const r = rows[0] ?? {};
        const st = quantileAccumulator.init(spec, schema);
        st.n = num(r.rx_n);
        st.missing = num(r.rx_rows) - st.n;
        st.min = num(r.rx_mn, Number.POSITIVE_INFINITY);
        st.max = num(r.rx_mx, Number.NEGATIVE_INFINITY);
        if (st.n > 0) st.kept[0] = null; // the refinement pass computes the order statistics in SQL
        return st;
      },
    };
  }
  const open = spec.targets.map((t, k) => ({ t, k })).filter(({ t }) => t.value === undefined);
  const n = spec.n ?? 0;
  let sql: string;
  if (spec.approx && ctx.dialect === 'duckdb' && n > 1) {
    const list = open.map(({ t, k }) => `approx_quantile(${x}, ${Number(Math.min(1, Math.max(0, t.rank / (n - 1)))).toString()}) AS rx_q${k}`);
    sql = `SELECT ${list.length ? list.join(', ') : '1 AS rx_one'} FROM ${ctx.from} WHERE ${valid}`;
  } else {
    const ranks = open.map(({ t }) => ctx.param(t.rank));
    sql = `SELECT rx_r, rx_x FROM (SELECT ${x} AS rx_x, ROW_NUMBER() OVER (ORDER BY ${x}) - 1 AS rx_r FROM ${ctx.from} WHERE ${valid}) AS rx_o WHERE rx_r IN (${ranks.length ? ranks.join(', ') : ctx.param(-1)})`;
  }
  return {
    sql,
    toState(rows) {
      const st = quantileAccumulator.init(spec, schema);
      const byRank = new Map<number, number>();
      if (spec.approx && ctx.dialect === 'duckdb' && n > 1) {
        for (const { t, k } of open) byRank.set(t.rank, num(rows[0]?.[`rx_q${k}`], Number.NaN));
      } else for (const r of rows) byRank.set(num(r.rx_r), num(r.rx_x));
      for (const { t, k } of open) {
        const v = byRank.get(t.rank);
        if (v === undefined) continue;
        st.kept[k] = null;
        st.inMin[k] = v;
        st.inMax[k] = v;
      }
      return st;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Registration on the accumulators' own definitions

summaryAccumulator.pushdown = (spec, schema, ctx) => orNull(() => summaryPass(spec, schema, ctx));
cubeAccumulator.pushdown = (spec, schema, ctx) => orNull(() => cubePass(spec, schema, ctx));
covCorAccumulator.pushdown = (spec, schema, ctx) => orNull(() => covCorPass(spec as { vars: string[]; weights?: string }, schema, ctx));
quantileAccumulator.pushdown = (spec, schema, ctx) => orNull(() => quantilePass(spec, schema, ctx));

