/**
 * In-database pushdown (AccumulatorDef.pushdown) for rxLinMod and rxGlm / rxLogit.
 *
 * The model matrix is compiled to SQL from the formula engine's ModelSpec: the intercept,
 * numeric variables (columns or expressions through the expression compiler), factor
 * dummies as CASE WHEN value = level (levels bound as parameters), F(x) as
 * floor(x) = level, interactions as products. Rows with a missing / non-finite value in
 * any variable, the response, the offset or the weight give NULL columns, so the SUMs skip
 * them exactly as buildDesign() drops them; COUNT(*) - COUNT(y) is nMissing.
 *
 * rxLinMod (cross-product pass): ONE query grouped by the factor atoms, with SUM(w m_a m_b)
 * for every pair of distinct numeric products ("monomials", and y) per factor-level group;
 * X'WX, X'Wy, y'Wy and SUM(w) are assembled from the groups (see linModGrouped), the
 * response moments merge per group. Beyond 4096 factor-level combinations: one row of
 * SUM(w xi xj) over the dummy columns instead. Its QR / refinement passes (ill-conditioned
 * problems) have no SQL form: the context streams those passes.
 * T-SQL: the same SQL through the dialect helpers (LOG, CASE for GREATEST, 0/1 flags,
 * COUNT_BIG); SQL Server stores no NaN, so terms that are NaN elsewhere are NULL and counted.
 * rxGlm / rxLogit: ONE query per IRLS iteration with the current (and previous)
 * coefficients bound as parameters: eta, mu = linkinv(eta), mu.eta, the variance, the
 * working weights and response, SUM of X'WX, X'Wz and the deviance terms, exactly the
 * State glm.ts process() builds. Families/links with an SQL form: gaussian/identity,
 * binomial and quasibinomial/logit (binomial with prior weights has no SQL AIC term),
 * poisson and quasipoisson/log (poisson's AIC needs lgamma: DuckDB only).
 */
import type { SqlPass, SqlPassContext } from '../compute/pema.js';
import type { Schema } from '../data/types.js';
import { countAll, fence, finite, greatest, ln, noSql, num, numCol, orNull, sqlFalse, sqlTrue, textCol, varPop } from '../db/pushsql.js';
import { RxError } from '../errors.js';
import type { CallNode, ExprNode } from '../expr/ast.js';
import type { DesignSpec } from './design.js';
import { type GlmSpec, glmAccumulator } from './glm.js';
import { type LinModSpec, linModAccumulator } from './linmod.js';
import { type MeatSpec, type MeatState, meatAccumulator } from './sandwich.js';

type Row = Record<string, unknown>;
type LinModState = ReturnType<typeof linModAccumulator.init>;
type GlmState = ReturnType<typeof glmAccumulator.init>;

const DBL_EPS = 2.220446049250313e-16;

/** SQL for the design of one pass: inner select of X columns (rx_c0..), y, weight, offset. */
interface SqlDesign {
  /** Subquery (with alias) producing rx_c0.., rx_y, rx_w (when weighted), rx_o (offset), rx_bad. */
  from: string;
  p: number;
  weighted: boolean;
  offset: boolean;
}

/** A number bound as a parameter of the double type (PostgreSQL infers untyped parameters from their first use, e.g. `$1 > 0` -> integer). */
function dparam(ctx: SqlPassContext, v: number): string {
  return `CAST(${ctx.param(v)} AS ${ctx.double})`;
}

function isName(e: ExprNode, schema: Schema): e is ExprNode & { type: 'name'; name: string } {
  return e.type === 'name' && schema.columns.some((c) => c.name === (e as { name: string }).name);
}

function numericExpr(ctx: SqlPassContext, schema: Schema, e: ExprNode): string {
  if (isName(e, schema)) return numCol(ctx, schema, e.name);
  return `CAST(${ctx.expr(e)} AS ${ctx.double})`;
}

/** One model-matrix column: the product of numeric atoms times the indicator that every factor atom has its level. */
interface DesignCol {
  nums: string[];
  facs: Array<{ factor: number; level: string | number }>;
}

/**
 * The design of one pass, before it becomes SQL: atoms (source columns / expressions read
 * once per row), the row's validity and unknown-level predicates over them, and each X
 * column as numeric atoms times factor-level indicators.
 */
interface DesignParts {
  atoms: string[];
  ok: string;
  bad: string;
  cols: DesignCol[];
  /** Factor atoms (a factor column as text, or FLOOR(x) of F(x)) and their levels. */
  factors: Array<{ key: string; levels: Array<string | number> }>;
  y: string;
  w: string | null;
  off: string | null;
}

function designParts(design: DesignSpec, schema: Schema, ctx: SqlPassContext): DesignParts {
  const m = design.model;
  const atoms: string[] = [];
  const atom = (sql: string): string => {
    atoms.push(`${sql} AS rx_a${atoms.length}`);
    return `rx_a${atoms.length - 1}`;
  };
  const valid: string[] = [];
  const bad: string[] = [];
  const factors: DesignParts['factors'] = [];
  const vars = m.variables.map((vs) => {
    if (vs.fRange) {
      const call = vs.expr as CallNode;
      const arg = call.args.find((a) => a.name === 'x') ?? call.args.find((a) => a.name === undefined);
      if (!arg) noSql(`${vs.label} has no argument`);
      // FLOOR keeps NULL / NaN / +-Infinity, so finite(FLOOR(x)) == finite(x)
      const fl = atom(`FLOOR(${numericExpr(ctx, schema, arg.value)})`);
      const inRange = `${fl} >= ${dparam(ctx, vs.fRange.low)} AND ${fl} <= ${dparam(ctx, vs.fRange.high)}`;
      valid.push(`${finite(ctx, fl)} AND ${inRange}`);
      bad.push(`(${finite(ctx, fl)} AND NOT (${inRange}))`);
      factors.push({ key: fl, levels: vs.levels!.map((_, i) => vs.fRange!.low + i) });
      return { kind: 'factor' as const, factor: factors.length - 1 };
    }
    if (vs.kind === 'numeric') {
      const x = atom(numericExpr(ctx, schema, vs.expr));
      valid.push(finite(ctx, x));
      return { kind: 'numeric' as const, sql: x };
    }
    if (!isName(vs.expr, schema)) noSql(`factor ${vs.label} is not a column`);
    const key = atom(textCol(ctx, schema, vs.expr.name));
    const levels = vs.levels!;
    const list = levels.map((l) => ctx.param(l)).join(', ');
    valid.push(`${key} IN (${list})`);
    bad.push(`(${key} IS NOT NULL AND ${key} NOT IN (${list}))`);
    factors.push({ key, levels: levels as Array<string | number> });
    return { kind: 'factor' as const, factor: factors.length - 1 };
  });
  // response
  const r = m.response;
  if (!r) noSql('no response');
  let y: string;
  if (r.kind === 'factor') {
    if (!isName(r.expr, schema)) noSql('factor response is not a column');
    const raw = textCol(ctx, schema, r.expr.name);
    const key = atom(raw);
    const lv = r.levels ?? [];
    y = atom(`CASE ${lv.map((l, i) => `WHEN ${raw} = ${ctx.param(l)} THEN CAST(${i} AS ${ctx.double})`).join(' ')} END`);
    bad.push(`(${key} IS NOT NULL AND ${key} NOT IN (${lv.map((l) => ctx.param(l)).join(', ')}))`);
  } else if (r.kind === 'logical') {
    const e = ctx.expr(r.expr);
    y = atom(`CASE WHEN ${e} THEN CAST(1 AS ${ctx.double}) WHEN NOT (${e}) THEN CAST(0 AS ${ctx.double}) END`);
  } else y = atom(numericExpr(ctx, schema, r.expr));
  valid.push(finite(ctx, y));
  let off: string | null = null;
  if (m.offsets.length) {
    off = atom(m.offsets.map((o) => numericExpr(ctx, schema, o)).join(' + '));
    valid.push(finite(ctx, off));
  }
  let w: string | null = null;
  if (design.weightVar) {
    w = atom(numCol(ctx, schema, design.weightVar));
    valid.push(finite(ctx, w));
  }
  // X columns in X order
  const cols: DesignCol[] = [];
  if (m.intercept) cols.push({ nums: [], facs: [] });
  for (const t of m.terms) {
    const nums: string[] = [];
    const facs: number[] = [];
    for (const v of t.vars) {
      const e = vars[v]!;
      if (e.kind === 'numeric') nums.push(e.sql);
      else facs.push(e.factor);
    }
    for (let slot = 0; slot < t.size; slot++) {
      if (m.columns[t.start + slot]!.dropped) continue;
      let r0 = slot;
      const fl = facs.map((f) => {
        const levels = factors[f]!.levels;
        const code = r0 % levels.length;
        r0 = Math.floor(r0 / levels.length);
        return { factor: f, level: levels[code]! };
      });
      cols.push({ nums, facs: fl });
    }
  }
  if (cols.length !== design.xCols.length) noSql('model matrix shape');
  return { atoms, ok: valid.length ? valid.join(' AND ') : sqlTrue(ctx), bad: bad.length ? bad.join(' OR ') : sqlFalse(ctx), cols, factors, y, w, off };
}

/** An atom that is a column read as a type: `CAST("x" AS DOUBLE PRECISION) AS rx_a0`. */
const SIMPLE_ATOM = /^CAST\("(?:[^"]|"")*" AS [A-Z ]+\) AS rx_a\d+$/;
/** A quoted (schema-qualified) table, possibly under a filter: `"t"`, `(SELECT * FROM "s"."t" WHERE ...) AS rx_p`. */
const PLAIN_FROM = /^(?:\(SELECT \* FROM )?"(?:[^"]|"")*"(?:\."(?:[^"]|"")*")?(?: WHERE .*\) AS rx_[pw])?$/s;

/**
 * rx_sb: the atoms of every row with its validity flag rx_ok and unknown-level flag rx_bad
 * (0/1 integers: T-SQL cannot select a predicate). PostgreSQL: OFFSET 0 fences keep the
 * planner from inlining the atoms back into every use (it has no common-subexpression
 * elimination).
 */
function atomsFrom(parts: DesignParts, ctx: SqlPassContext): string {
  const names = parts.atoms.map((_, k) => `rx_a${k}`);
  // atoms that only read a column of a plain table need no fence: inlining them costs
  // nothing and saves a subquery scan per row (about a sixth of the pass on PostgreSQL)
  const plain = PLAIN_FROM.test(ctx.from) && parts.atoms.every((a) => SIMPLE_ATOM.test(a));
  const a = `(SELECT ${parts.atoms.join(', ')} FROM ${ctx.from}${plain ? '' : fence(ctx)}) AS rx_sa`;
  const b = [...names, `CASE WHEN ${parts.ok} THEN 1 ELSE 0 END AS rx_ok`, `CASE WHEN ${parts.bad} THEN 1 ELSE 0 END AS rx_bad`];
  return `(SELECT ${b.join(', ')} FROM ${a}${fence(ctx)}) AS rx_sb`;
}

function buildSqlDesign(design: DesignSpec, schema: Schema, ctx: SqlPassContext, parts = designParts(design, schema, ctx)): SqlDesign {
  // Three levels, each computed once per row: rx_sa reads the source columns / expressions
  // into atoms, rx_sb derives the row's validity and unknown-level flags, rx_d builds the
  // model-matrix columns rx_c0.. from the atoms, NULL on invalid rows.
  const one = `CAST(1 AS ${ctx.double})`;
  const cols = parts.cols.map((c) => {
    const prod = c.nums.length ? c.nums.join(' * ') : one;
    if (!c.facs.length) return prod;
    const conds = c.facs.map((f) => `${parts.factors[f.factor]!.key} = ${typeof f.level === 'number' ? dparam(ctx, f.level) : ctx.param(f.level)}`);
    return `CASE WHEN ${conds.join(' AND ')} THEN ${prod} ELSE CAST(0 AS ${ctx.double}) END`;
  });
  const when = (c: string) => `CASE WHEN rx_ok = 1 THEN ${c} END`;
  const sel = cols.map((c, j) => `${when(c)} AS rx_c${j}`);
  sel.push(`${when(parts.y)} AS rx_y`);
  if (parts.w) sel.push(`${when(parts.w)} AS rx_w`);
  if (parts.off) sel.push(`${when(parts.off)} AS rx_o`);
  sel.push('rx_bad');
  return { from: `(SELECT ${sel.join(', ')} FROM ${atomsFrom(parts, ctx)}${fence(ctx)}) AS rx_d`, p: cols.length, weighted: !!parts.w, offset: !!parts.off };
}

function unknownLevels(design: DesignSpec, r: Row): void {
  const bad = num(r.rx_bad);
  if (bad > 0)
    throw new RxError('RX_MODEL', `${bad} rows have a factor level (or F() value) that the model ${design.formula} did not see; pass checkFactorLevels: false or fix the data`, {
      text: design.formula,
    });
}

/** X'WX / X'Wz aggregates over alias `src` with weight expression `wt` and response `z`. */
function crossAggs(p: number, wt: string | null, z: string): string[] {
  const w = wt ? `${wt} * ` : '';
  const out: string[] = [];
  for (let j = 0; j < p; j++) {
    for (let i = 0; i <= j; i++) out.push(`SUM(${w}rx_c${i} * rx_c${j}) AS rx_x${i}_${j}`);
    out.push(`SUM(${w}rx_c${j} * ${z}) AS rx_xy${j}`);
  }
  out.push(`SUM(${w}${z} * ${z}) AS rx_yy`, `SUM(${wt ?? `CASE WHEN ${z} IS NOT NULL THEN 1 END`}) AS rx_sw`);
  return out;
}

function readCross(r: Row, p: number, xtx: Float64Array, xty: Float64Array, acc: Float64Array, n: number): void {
  for (let j = 0; j < p; j++) {
    for (let i = 0; i <= j; i++) {
      const v = num(r[`rx_x${i}_${j}`]);
      xtx[i + j * p] = v;
      xtx[j + i * p] = v;
    }
    xty[j] = num(r[`rx_xy${j}`]);
  }
  acc[0] = num(r.rx_sw);
  acc[1] = num(r.rx_yy);
  acc[2] = n;
}

// ---------------------------------------------------------------------------------------
// rxLinMod

/** Most factor-level combinations for which rxLinMod groups by the factors (beyond it: one row of SUMs over the dummies). */
const MAX_GROUPS = 4096;

function linModPass(spec: LinModSpec, schema: Schema, ctx: SqlPassContext): SqlPass<LinModState> {
  if (spec.mode !== 'xtx') noSql(`the ${spec.mode} pass`);
  if (spec.cubeParts) noSql('the partitioned cube pass');
  const parts = designParts(spec.design, schema, ctx);
  const groups = parts.factors.reduce((g, f) => g * f.levels.length, 1);
  return groups <= MAX_GROUPS ? linModGrouped(spec, schema, ctx, parts) : linModFlat(spec, schema, ctx, parts);
}

/** Cross-product pass as one row of SUMs over the model-matrix columns (factor dummies as CASE columns). */
function linModFlat(spec: LinModSpec, schema: Schema, ctx: SqlPassContext, parts: DesignParts): SqlPass<LinModState> {
  const d = buildSqlDesign(spec.design, schema, ctx, parts);
  const p = d.p;
  const wt = d.weighted ? 'rx_w' : null;
  const aggs = [`${countAll(ctx)} AS rx_rows`, `${countAll(ctx, 'rx_y')} AS rx_n`, `SUM(${bigint(ctx, 'rx_bad')}) AS rx_bad`, ...crossAggs(p, wt, 'rx_y')];
  let from = d.from;
  if (wt) {
    aggs.push(...weightedMoments(ctx));
    from += weightedShift(d.from);
  } else aggs.push('AVG(rx_y) AS rx_k', `${varPop(ctx, 'rx_y')} AS rx_v`);
  const cube = spec.design.cube;
  if (cube) for (let j = 0; j < cube.levels.length; j++) aggs.push(`SUM(rx_c${j}${spec.fweights && wt ? ' * rx_w' : ''}) AS rx_cube${j}`);
  return {
    sql: `SELECT ${aggs.join(', ')} FROM ${from}`,
    toState(rows) {
      const r = rows[0] ?? {};
      unknownLevels(spec.design, r);
      const st = linModAccumulator.init(spec, schema);
      const n = num(r.rx_n);
      st.nMissing = num(r.rx_rows) - n;
      if (n === 0) return st;
      readCross(r, p, st.xtx, st.xty, st.acc, n);
      if (wt) setWeightedMoments(st, num(r.rx_sw), num(r.rx_k), num(r.rx_s1), num(r.rx_s2), num(r.rx_npos));
      else {
        st.nPos = n;
        st.yW = n;
        st.yMean = num(r.rx_k);
        st.yM2 = Math.max(0, num(r.rx_v) * n);
      }
      if (cube && st.counts) for (let j = 0; j < cube.levels.length; j++) st.counts[j] = num(r[`rx_cube${j}`]);
      return st;
    },
  };
}

/** An integer flag summed as a 64-bit integer (T-SQL's SUM of INT overflows at 2^31). */
function bigint(ctx: SqlPassContext, v: string): string {
  return ctx.dialect === 'tsql' ? `CAST(${v} AS BIGINT)` : v;
}

/** Weighted moments of y about the weighted mean rx_sh.rx_k (see weightedShift). */
function weightedMoments(ctx: SqlPassContext): string[] {
  return [
    `${countAll(ctx, 'CASE WHEN rx_w <> 0 THEN 1 END')} AS rx_npos`,
    'MIN(rx_sh.rx_k) AS rx_k',
    'SUM(rx_w * (rx_y - rx_sh.rx_k)) AS rx_s1',
    'SUM(rx_w * (rx_y - rx_sh.rx_k) * (rx_y - rx_sh.rx_k)) AS rx_s2',
  ];
}

/** Joins the weighted mean of y (a separate aggregate over the same design) as rx_sh.rx_k. */
function weightedShift(designFrom: string): string {
  return ` CROSS JOIN (SELECT COALESCE(SUM(rx_w * rx_y) / NULLIF(SUM(rx_w), 0), 0) AS rx_k FROM ${designFrom.replace(/ AS rx_d$/, ' AS rx_d2')}) AS rx_sh`;
}

function setWeightedMoments(st: LinModState, W: number, k: number, s1: number, s2: number, npos: number): void {
  st.nPos = npos;
  if (W !== 0) {
    st.yW = W;
    st.yMean = k + s1 / W;
    st.yM2 = s2 - (s1 * s1) / W;
  }
}

/**
 * Cross-product pass grouped by the factors: every model-matrix column is a product of
 * numeric atoms (a "monomial", 1 for intercept and plain dummies) times the indicator that
 * the row's factors have given levels, so X'WX[i,j] is the sum, over the factor-level groups
 * where both columns' indicators hold, of SUM(w m_i m_j) within the group. One GROUP BY
 * over the factor atoms with SUM(w m_a m_b) for every pair of distinct monomials (and y)
 * replaces a SUM per pair of columns, each over a CASE per dummy: for y ~ x1 + x2 + x3 + g
 * (5 levels) 15 sums instead of 52, and no CASE per row. X'WX is assembled here from the
 * groups' sums; the response moments merge per group (Chan), so the precision is that of
 * the flat query. Invalid rows have NULL atoms and NULL keys: they add to no sum.
 */
function linModGrouped(spec: LinModSpec, schema: Schema, ctx: SqlPassContext, parts: DesignParts): SqlPass<LinModState> {
  const p = parts.cols.length;
  const weighted = parts.w !== null;
  // monomials: distinct products of numeric atoms ('' = 1); index monos.length stands for y
  const monoKey = (nums: string[]) => [...nums].sort().join('*');
  const monos: string[] = [''];
  for (const c of parts.cols) if (!monos.includes(monoKey(c.nums))) monos.push(monoKey(c.nums));
  const Y = monos.length;
  const factorsOf = (m: number) => (m === Y ? ['rx_y'] : monos[m] ? monos[m]!.split('*') : []);
  const used = new Set(parts.cols.flatMap((c) => c.nums));
  const when = (c: string) => `CASE WHEN rx_ok = 1 THEN ${c} END`;
  const sel = [...used].map((a) => `${when(a)} AS ${a}`);
  for (const [i, f] of parts.factors.entries()) sel.push(`${when(f.key)} AS rx_k${i}`);
  sel.push(`${when(parts.y)} AS rx_y`);
  if (parts.w) sel.push(`${when(parts.w)} AS rx_w`);
  sel.push('rx_bad');
  const from = `(SELECT ${sel.join(', ')} FROM ${atomsFrom(parts, ctx)}${fence(ctx)}) AS rx_d`;
  const sumOf = (terms: string[]) => {
    const t = weighted ? ['rx_w', ...terms] : terms;
    return t.length ? `SUM(${t.join(' * ')})` : countAll(ctx, 'rx_y');
  };
  const aggs = [`${countAll(ctx)} AS rx_rows`, `${countAll(ctx, 'rx_y')} AS rx_n`, `SUM(${bigint(ctx, 'rx_bad')}) AS rx_bad`];
  // PostgreSQL without weights: the regr_* aggregates of one pair of monomials share ONE
  // transition state (count, means, centred sums of squares and cross-products, Youngs-
  // Cramer), so m monomials cost m(m-1)/2 transitions a row instead of (m+1)(m+2)/2 SUMs
  const regr = ctx.dialect === 'postgres' && !weighted;
  const pairs: Array<[number, number]> = [];
  const firstPair = new Map<number, [number, number]>();
  if (regr) {
    const L = Array.from({ length: Y }, (_, i) => i + 1); // non-constant monomials and y
    for (let j = 1; j < L.length; j++) for (let i = 0; i < j; i++) pairs.push([L[i]!, L[j]!]);
    if (L.length === 1) pairs.push([Y, Y]);
    for (const [a, b] of pairs) {
      const ea = factorsOf(a).join(' * ');
      const eb = factorsOf(b).join(' * ');
      const x = `rx_r${a}_${b}`;
      for (const f of ['avgx', 'avgy', 'sxx', 'syy', 'sxy']) aggs.push(`regr_${f}(${eb}, ${ea}) AS ${x}_${f}`);
      if (!firstPair.has(a)) firstPair.set(a, [a, b]);
      if (!firstPair.has(b)) firstPair.set(b, [a, b]);
    }
  } else for (let b = 0; b <= Y; b++) for (let a = 0; a <= b; a++) aggs.push(`${sumOf([...factorsOf(a), ...factorsOf(b)])} AS rx_m${a}_${b}`);
  const cube = spec.design.cube;
  // cube counts: SUM of the column, weighted only for frequency weights
  const cubeUnweighted = !!cube && weighted && !spec.fweights;
  if (cubeUnweighted) for (let a = 0; a < Y; a++) aggs.push(`${factorsOf(a).length ? `SUM(${factorsOf(a).join(' * ')})` : countAll(ctx, 'rx_y')} AS rx_u${a}`);
  let fromAll = from;
  if (weighted) {
    aggs.push(...weightedMoments(ctx));
    fromAll += weightedShift(from);
  } else if (!regr) aggs.push('AVG(rx_y) AS rx_k', `${varPop(ctx, 'rx_y')} AS rx_v`);
  const keys = parts.factors.map((_, i) => `rx_k${i}`);
  const mono = parts.cols.map((c) => monos.indexOf(monoKey(c.nums)));
  return {
    sql: `SELECT ${[...keys, ...aggs].join(', ')} FROM ${fromAll}${keys.length ? ` GROUP BY ${keys.join(', ')}` : ''}`,
    toState(rows) {
      const st = linModAccumulator.init(spec, schema);
      let total = 0;
      let n = 0;
      let bad = 0;
      let sw = 0;
      let yy = 0;
      let s1 = 0;
      let s2 = 0;
      let npos = 0;
      let k = 0;
      // regr: a monomial's mean and centred sum of squares, from the first pair holding it
      const mean = new Float64Array(Y + 1);
      const css = new Float64Array(Y + 1);
      let ng = 0;
      let cur: Row = {};
      const S = regr
        ? (_r: Row, a: number, b: number): number => {
            if (a > b) [a, b] = [b, a];
            if (a === 0) return b === 0 ? ng : ng * mean[b]!;
            if (a === b) return css[a]! + ng * mean[a]! * mean[a]!;
            return num(cur[`rx_r${a}_${b}_sxy`]) + ng * mean[a]! * mean[b]!;
          }
        : (r: Row, a: number, b: number): number => num(r[a <= b ? `rx_m${a}_${b}` : `rx_m${b}_${a}`]);
      const ind = new Uint8Array(p);
      for (const r of rows) {
        total += num(r.rx_rows);
        bad += num(r.rx_bad);
        ng = num(r.rx_n);
        if (ng === 0) continue;
        n += ng;
        if (regr) {
          cur = r;
          for (const [m, [a, b]] of firstPair) {
            const x = `rx_r${a}_${b}`;
            const asX = m === a;
            mean[m] = num(r[`${x}_${asX ? 'avgx' : 'avgy'}`]);
            css[m] = num(r[`${x}_${asX ? 'sxx' : 'syy'}`]);
          }
        }
        for (let j = 0; j < p; j++)
          ind[j] = parts.cols[j]!.facs.every((f) => {
            const v = r[`rx_k${f.factor}`];
            return typeof f.level === 'number' ? num(v, Number.NaN) === f.level : v === f.level;
          })
            ? 1
            : 0;
        for (let j = 0; j < p; j++) {
          if (!ind[j]) continue;
          for (let i = 0; i <= j; i++) if (ind[i]) st.xtx[i + j * p]! += S(r, mono[i]!, mono[j]!);
          st.xty[j]! += S(r, mono[j]!, Y);
          if (cube && st.counts && j < cube.levels.length) st.counts[j]! += cubeUnweighted ? num(r[`rx_u${mono[j]}`]) : S(r, mono[j]!, 0);
        }
        yy += S(r, Y, Y);
        sw += S(r, 0, 0);
        if (weighted) {
          npos += num(r.rx_npos);
          s1 += num(r.rx_s1);
          s2 += num(r.rx_s2);
          k = num(r.rx_k);
        } else {
          // Chan et al.: merge the group's mean and sum of squared deviations
          const mg = regr ? mean[Y]! : num(r.rx_k);
          const m2g = regr ? Math.max(0, css[Y]!) : Math.max(0, num(r.rx_v) * ng);
          const w = st.yW + ng;
          const delta = mg - st.yMean;
          st.yMean += (delta * ng) / w;
          st.yM2 += m2g + (delta * delta * st.yW * ng) / w;
          st.yW = w;
        }
      }
      unknownLevels(spec.design, { rx_bad: bad });
      st.nMissing = total - n;
      if (n === 0) return st;
      for (let j = 0; j < p; j++) for (let i = 0; i < j; i++) st.xtx[j + i * p] = st.xtx[i + j * p]!;
      st.acc[0] = sw;
      st.acc[1] = yy;
      st.acc[2] = n;
      if (weighted) setWeightedMoments(st, sw, k, s1, s2, npos);
      else st.nPos = n;
      return st;
    },
  };
}

// ---------------------------------------------------------------------------------------
// rxGlm / rxLogit

interface LinkSql {
  inv(eta: string): string;
  muEta(eta: string): string;
  fun(mu: string): string;
}

function linkSql(ctx: SqlPassContext, link: string): LinkSql {
  // parameters are bound only when the SQL uses them (DuckDB rejects unused ones)
  let epsP: string | undefined;
  const eps = () => (epsP ??= dparam(ctx, DBL_EPS));
  switch (link) {
    case 'identity':
      return { inv: (e) => e, muEta: () => `CAST(1 AS ${ctx.double})`, fun: (m) => m };
    case 'log':
      return { inv: (e) => greatest(ctx, `EXP(${e})`, eps()), muEta: (e) => greatest(ctx, `EXP(${e})`, eps()), fun: (m) => ln(ctx, m) };
    case 'logit': {
      let invP: string | undefined;
      const inveps = () => (invP ??= dparam(ctx, 1 / DBL_EPS));
      const t = (e: string) => `(CASE WHEN ${e} < -30 THEN ${eps()} WHEN ${e} > 30 THEN ${inveps()} ELSE EXP(${e}) END)`;
      return {
        inv: (e) => `(${t(e)} / (1 + ${t(e)}))`,
        muEta: (e) => greatest(ctx, `EXP(-ABS(${e})) / ((1 + EXP(-ABS(${e}))) * (1 + EXP(-ABS(${e}))))`, eps()),
        fun: (m) => ln(ctx, `${m} / (1 - ${m})`),
      };
    }
    default:
      return noSql(`link ${link}`);
  }
}

/**
 * NaN of the dialect (a result R gives as NaN, e.g. a deviance term with y < 0). SQL Server
 * stores no NaN: there the term is NULL, the pass counts the non-NULL terms and toState
 * turns a sum with fewer terms than rows into NaN (see nanChecked).
 */
function nanSql(ctx: SqlPassContext): string {
  if (ctx.dialect === 'tsql') return 'NULL';
  return ctx.dialect === 'postgres' ? `'NaN'::float8` : `CAST('NaN' AS ${ctx.double})`;
}

/** y log(y / mu) with 0 log 0 = 0. */
function ylogy(ctx: SqlPassContext, y: string, mu: string): string {
  return `(CASE WHEN ${y} = 0 THEN 0 WHEN ${y} > 0 AND ${mu} > 0 THEN ${y} * ${ln(ctx, `${y} / ${mu}`)} ELSE ${nanSql(ctx)} END)`;
}

/** The linear predictor offset + sum beta_j rx_c_j as SQL (coefficients bound; zero and NaN ones left out). */
function etaSql(ctx: SqlPassContext, beta: number[], off: string): string {
  const terms = beta.map((b, j) => (b === 0 || Number.isNaN(b) ? null : `${dparam(ctx, b)} * rx_c${j}`)).filter((t) => t !== null);
  return terms.length ? `${off} + ${terms.join(' + ')}` : off;
}

function glmPass(spec: GlmSpec, schema: Schema, ctx: SqlPassContext): SqlPass<GlmState> {
  const fam = spec.family.family;
  const linkName = spec.family.link === 'power' ? noSql('power link') : spec.family.link;
  const family = fam === 'quasibinomial' ? 'binomial' : fam === 'quasipoisson' ? 'poisson' : fam;
  const okLink = (family === 'gaussian' && linkName === 'identity') || (family === 'binomial' && linkName === 'logit') || (family === 'poisson' && linkName === 'log');
  if (!okLink) noSql(`family ${fam} with link ${linkName}`);
  const d = buildSqlDesign(spec.design, schema, ctx);
  if (fam === 'binomial' && d.weighted) noSql('binomial AIC with prior weights');
  if (fam === 'poisson' && ctx.dialect !== 'duckdb') noSql('poisson AIC needs lgamma');
  const link = linkSql(ctx, linkName);
  const p = d.p;
  const D = ctx.double;
  // prior weight, NULL on incomplete rows (which then drop out of every SUM / COUNT below)
  const pw = d.weighted ? 'rx_w' : `CASE WHEN rx_y IS NOT NULL THEN CAST(1 AS ${D}) END`;
  const off = d.offset ? 'rx_o' : `CAST(0 AS ${D})`;
  const etaOf = (beta: number[]) => etaSql(ctx, beta, off);
  const variance = (mu: string) => (family === 'binomial' ? `(${mu} * (1 - ${mu}))` : family === 'poisson' ? mu : `CAST(1 AS ${D})`);
  const devResid = (y: string, mu: string, w: string) =>
    family === 'gaussian'
      ? `(${w} * (${y} - ${mu}) * (${y} - ${mu}))`
      : family === 'binomial'
        ? `(2 * ${w} * (${ylogy(ctx, y, mu)} + ${ylogy(ctx, `(1 - ${y})`, `(1 - ${mu})`)}))`
        : `(CASE WHEN ${y} > 0 THEN 2 * (${w} * ${y} * ${ln(ctx, `${y} / ${mu}`)} - ${w} * (${y} - ${mu})) ELSE 2 * ${mu} * ${w} END)`;
  // level 1: eta and mu (beta = null: R's mustart)
  let mu: string;
  let eta: string;
  if (spec.beta) {
    eta = etaOf(spec.beta);
    mu = link.inv('rx_eta');
  } else {
    mu = family === 'binomial' ? `((${pw} * rx_y + 0.5) / (${pw} + 1))` : family === 'poisson' ? '(rx_y + 0.1)' : 'rx_y';
    eta = link.fun(mu);
  }
  const l1 = [`rx_d.*`, `${eta} AS rx_eta`, `${pw} AS rx_pw`];
  if (spec.prevBeta) l1.push(`${etaOf(spec.prevBeta)} AS rx_etap`);
  // every row flows through (COUNT(*) and SUM(rx_bad) need them all in this one scan);
  // incomplete rows carry NULLs, which no expression below fails on
  const from1 = `(SELECT ${l1.join(', ')} FROM ${d.from}${fence(ctx)}) AS rx_e`;
  const l2 = ['rx_e.*', `${mu} AS rx_mu`, `${link.muEta('rx_eta')} AS rx_me`];
  if (spec.prevBeta) l2.push(`${link.inv('rx_etap')} AS rx_mup`, `${link.muEta('rx_etap')} AS rx_mep`);
  const from2 = `(SELECT ${l2.join(', ')} FROM ${from1}${fence(ctx)}) AS rx_m`;
  const l3 = ['rx_m.*', `rx_eta - ${d.offset ? 'rx_o' : '0'} + (rx_y - rx_mu) / rx_me AS rx_z`, `CASE WHEN rx_pw > 0 THEN rx_pw * rx_me * rx_me / ${variance('rx_mu')} ELSE 0 END AS rx_ww`];
  const from3 = `(SELECT ${l3.join(', ')} FROM ${from2}${fence(ctx)}) AS rx_z3`;
  const pos = (e: string) => `CASE WHEN rx_pw > 0 THEN ${e} END`;
  const aggs = [`${countAll(ctx)} AS rx_rows`, `SUM(${bigint(ctx, 'rx_bad')}) AS rx_bad`, `${countAll(ctx, 'rx_y')} AS rx_n`, ...crossAggs(p, 'rx_ww', 'rx_z')];
  // SQL Server: terms that are NaN elsewhere are NULL there; count the present ones
  const nanChecked: number[] = [];
  const sumNan = (k: number, e: string) => {
    aggs.push(`SUM(${e}) AS rx_s${k}`);
    if (ctx.dialect === 'tsql') {
      aggs.push(`${countAll(ctx, e)} AS rx_cnt${k}`);
      nanChecked.push(k);
    }
  };
  sumNan(0, pos(devResid('rx_y', 'rx_mu', 'rx_pw')));
  if (!Number.isNaN(spec.wtdmu)) sumNan(1, pos(devResid('rx_y', dparam(ctx, spec.wtdmu), 'rx_pw')));
  aggs.push(`SUM(${pos('rx_pw * rx_y')}) AS rx_s2`, `SUM(${pos('rx_pw')}) AS rx_s3`, `${countAll(ctx, pos('1'))} AS rx_s8`, 'MIN(rx_y) AS rx_s9', 'MAX(rx_y) AS rx_s10');
  if (spec.prevBeta) aggs.push(`SUM(${pos(`rx_pw * rx_mep * rx_mep / ${variance('rx_mup')} * ((rx_y - rx_mu) / rx_me) * ((rx_y - rx_mu) / rx_me)`)}) AS rx_s4`);
  if (fam === 'binomial') aggs.push(`SUM(${pos(`CASE WHEN rx_y = 1 THEN ${ln(ctx, 'rx_mu')} ELSE ${ln(ctx, '1 - rx_mu')} END`)}) AS rx_s5`);
  else if (fam === 'poisson') aggs.push(`SUM(${pos('rx_pw * (rx_y * LN(rx_mu) - rx_mu - LGAMMA(rx_y + 1))')}) AS rx_s5`);
  aggs.push(`SUM(${pos(`CASE WHEN rx_y > 0 THEN rx_pw * ${ln(ctx, 'rx_y')} ELSE 0 END`)}) AS rx_s6`);
  sumNan(7, pos(`CASE WHEN rx_mu > 0 THEN rx_pw * (-${ln(ctx, 'rx_mu')} - rx_y / rx_mu) ELSE ${nanSql(ctx)} END`));
  if (spec.binary) aggs.push(`${countAll(ctx, 'CASE WHEN rx_y <> 0 AND rx_y <> 1 THEN 1 END')} AS rx_nonbin`);
  const sql = `SELECT ${aggs.join(', ')} FROM ${from3}`;
  return {
    sql,
    toState(rows) {
      const r = rows[0] ?? {};
      unknownLevels(spec.design, r);
      if (num(r.rx_nonbin) > 0) throw new RxError('RX_MODEL', `rxLogit: the response must be 0/1, TRUE/FALSE or a 2-level factor; ${num(r.rx_nonbin)} rows have other values`, { column: spec.design.responseLabel });
      const st = glmAccumulator.init(spec, schema);
      const n = num(r.rx_n);
      st.nMissing = num(r.rx_rows) - n;
      if (n === 0) return st;
      readCross(r, p, st.xtx, st.xty, st.acc, n);
      const s = st.s;
      s[0] = num(r.rx_s0);
      s[1] = num(r.rx_s1);
      s[2] = num(r.rx_s2);
      s[3] = num(r.rx_s3);
      s[4] = num(r.rx_s4);
      s[5] = num(r.rx_s5);
      s[6] = num(r.rx_s6);
      s[7] = num(r.rx_s7);
      s[8] = num(r.rx_s8);
      s[9] = num(r.rx_s9, Number.POSITIVE_INFINITY);
      s[10] = num(r.rx_s10, Number.NEGATIVE_INFINITY);
      for (const k of nanChecked) if (num(r[`rx_cnt${k}`]) < s[8]!) s[k] = Number.NaN;
      return st;
    },
  };
}

// ---------------------------------------------------------------------------------------
// pweights: the HC0 sandwich's meat, sum of s_i^2 x_i x_i' at the final coefficients

function meatPass(spec: MeatSpec, schema: Schema, ctx: SqlPassContext): SqlPass<MeatState> {
  const d = buildSqlDesign(spec.design, schema, ctx);
  const p = d.p;
  const D = ctx.double;
  const pw = d.weighted ? 'rx_w' : `CAST(1 AS ${D})`;
  const off = d.offset ? 'rx_o' : `CAST(0 AS ${D})`;
  const eta = etaSql(ctx, spec.beta, off);
  const from1 = `(SELECT rx_d.*, ${eta} AS rx_eta FROM ${d.from}${fence(ctx)}) AS rx_e`;
  let score: string;
  let from2 = from1;
  if (!spec.family) score = `${pw} * (rx_y - rx_eta)`;
  else {
    // the score of a GLM row: pw (y - mu) mu.eta(eta) / V(mu), for the links and variances the IRLS pushdown has
    const f = spec.family.family;
    const family = f === 'quasibinomial' ? 'binomial' : f === 'quasipoisson' ? 'poisson' : f;
    if (family !== 'gaussian' && family !== 'binomial' && family !== 'poisson') noSql(`the sandwich of family ${f}`);
    const link = linkSql(ctx, spec.family.link === 'power' ? noSql('power link') : spec.family.link);
    const variance = family === 'binomial' ? '(rx_mu * (1 - rx_mu))' : family === 'poisson' ? 'rx_mu' : `CAST(1 AS ${D})`;
    from2 = `(SELECT rx_e.*, ${link.inv('rx_eta')} AS rx_mu, ${link.muEta('rx_eta')} AS rx_me FROM ${from1}${fence(ctx)}) AS rx_m`;
    score = `${pw} * (rx_y - rx_mu) * rx_me / ${variance}`;
  }
  const from3 = `(SELECT rx_c${Array.from({ length: p }, (_, j) => j).join(', rx_c')}, rx_bad, (${score}) * (${score}) AS rx_u FROM ${from2}${fence(ctx)}) AS rx_s`;
  const aggs = [`SUM(${bigint(ctx, 'rx_bad')}) AS rx_bad`];
  for (let j = 0; j < p; j++) for (let i = 0; i <= j; i++) aggs.push(`SUM(rx_u * rx_c${i} * rx_c${j}) AS rx_x${i}_${j}`);
  return {
    sql: `SELECT ${aggs.join(', ')} FROM ${from3}`,
    toState(rows) {
      const r = rows[0] ?? {};
      unknownLevels(spec.design, r);
      const st = meatAccumulator.init(spec, schema);
      for (let j = 0; j < p; j++)
        for (let i = 0; i <= j; i++) {
          const v = num(r[`rx_x${i}_${j}`]);
          st.meat[i + j * p] = v;
          st.meat[j + i * p] = v;
        }
      return st;
    },
  };
}

meatAccumulator.pushdown = (spec, schema, ctx) => orNull(() => meatPass(spec, schema, ctx));
linModAccumulator.pushdown = (spec, schema, ctx) => orNull(() => linModPass(spec, schema, ctx));
glmAccumulator.pushdown = (spec, schema, ctx) => orNull(() => glmPass(spec, schema, ctx));
