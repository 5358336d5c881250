import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Chunk, Column } from '../../lib/data/types.js';
import { evalExpr } from '../../lib/expr/eval.js';
import { toSql, toSqlPredicate } from '../../lib/expr/sql.js';

function values(c: Column): unknown[] {
  const n = (c.data as ArrayLike<unknown>).length;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    if (c.valid && c.valid[i] === 0) out.push(null);
    else if (c.type === 'float64') {
      const x = (c.data as Float64Array)[i]!;
      out.push(Number.isNaN(x) ? null : x);
    } else if (c.type === 'bool') out.push((c.data as Uint8Array)[i] === 1);
    else if (c.type === 'factor') out.push(c.levels![(c.data as Int32Array)[i]!]);
    else out.push((c.data as unknown[])[i]);
  }
  return out;
}

describe('toSql', () => {
  it('quotes identifiers per dialect and passes literals as parameters', () => {
    expect(toSql('`arr delay` > 10 & s == "it\'s"', 'duckdb')).toEqual({ sql: '(("arr delay" > $1) AND ("s" = $2))', params: [10, "it's"] });
    expect(toSql('`arr delay` > 10 & s == "x"', 'postgres').sql).toBe('(("arr delay" > $1) AND ("s" = $2))');
    const t = toSql('`a]b` + 1', 'tsql');
    expect(t).toEqual({ sql: '([a]]b] + @p1)', params: [1] });
    // T-SQL has no boolean values: predicates used as values become 1/0/NULL
    expect(toSql('x > 1', 'tsql').sql).toBe('(CASE WHEN ([x] > @p1) THEN 1 WHEN NOT ([x] > @p1) THEN 0 END)');
    expect(toSqlPredicate('flag & x > 1', 'tsql', { booleanColumns: ['flag'] }).sql).toBe('(([flag] = 1) AND ([x] > @p1))');
    expect(toSql('x + 1', 'postgres', { firstParam: 3 }).sql).toBe('("x" + $3)');
    expect(() => toSql('frob(x)', 'duckdb')).toThrow(/frob\(\) has no SQL translation/);
  });

  it('gives the same values in DuckDB as the in-process evaluator', async () => {
    let duck: typeof import('@duckdb/node-api');
    try {
      duck = await import('@duckdb/node-api');
    } catch {
      return; // DuckDB binary not available on this platform
    }
    const x = [1.5, null, -2, 7, 0.3, 10]; // no exact halves: SQL ROUND breaks ties away from zero, R to even
    const y = [2, 3, null, -4, 0.5, 3];
    const s = ['apple', 'Banana', null, 'fig', 'kiwi', 'apple'];
    const mem = new RxMemoryData({ x, y, s }, { stringsAsFactors: false });
    let chunk: Chunk | undefined;
    for await (const c of mem.chunks()) chunk = c;
    const inst = await duck.DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run('CREATE TABLE t (i INTEGER, x DOUBLE, y DOUBLE, s VARCHAR)');
    for (let i = 0; i < x.length; i++) await con.run('INSERT INTO t VALUES ($1, $2, $3, $4)', [i, x[i]!, y[i]!, s[i]!]);
    const exprs = [
      'x + y * 2',
      'x / y',
      'x %% 3',
      'x %/% 3',
      'x^2 - sqrt(abs(y))',
      'log(abs(x) + 1) + exp(y / 10) + log(8, base = 2) + log10(100) + log2(4)',
      'floor(x) + ceiling(y) + trunc(x)',
      'ifelse(x > y, x, y)',
      'pmin(x, y)',
      'pmax(x, y)',
      'is.na(x) | is.na(s)',
      'x > 1 & !(y < 0)',
      'x > 1 | s == "apple"',
      's %in% c("apple", "fig")',
      'x %in% c(1.5, 7)',
      'nchar(s) + 0',
      'toupper(s)',
      'substr(s, 2, 3)',
      'paste(s, "x", sep = "-")',
      'paste0(s, "!")',
      'as.character(cut(x, c(-Inf, 0, 5, Inf)))',
      'as.character(factor(s, levels = c("apple", "fig"), labels = c("A", "F")))',
      'as.integer(x)',
      'round(x, 1)',
    ];
    for (const e of exprs) {
      const { sql, params } = toSql(e, 'duckdb');
      const r = await con.runAndReadAll(`SELECT ${sql} AS v FROM t ORDER BY i`, params as never);
      const got = r.getRowObjects().map((o) => {
        const v = o['v'];
        return typeof v === 'bigint' ? Number(v) : v;
      });
      const want = values(evalExpr(e, chunk!));
      // %in% is NULL for a NULL x in SQL but FALSE in R: compare as selections there
      const norm = (a: unknown[]) => (e.includes('%in%') ? a.map((v) => v === true) : a);
      const g = norm(got);
      const w = norm(want);
      expect(g.length, e).toBe(w.length);
      for (let i = 0; i < w.length; i++) {
        if (typeof w[i] === 'number' && typeof g[i] === 'number') expect(g[i] as number, `${e} row ${i}`).toBeCloseTo(w[i] as number, 12);
        else expect(g[i], `${e} row ${i}`).toEqual(w[i]);
      }
    }
    con.closeSync?.();
  });
});
