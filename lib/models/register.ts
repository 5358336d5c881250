/**
 * Registers rxLinMod / rxLogit / rxGlm with the model-kind registry (lib/scoring), so
 * rxSerializeModel / rxUnserializeModel, the scoring server and the CLI handle them.
 * Layout version 1 = the results' toJSON (LinModData / GlmData).
 */
import type { ColumnInfo } from '../data/types.js';
import { exprColumns } from '../expr/eval.js';
import { registerModelKind } from '../scoring/registry.js';
import { rxPredict } from './predict.js';
import { type GlmData, GlmResult, type LinModData, LinModResult } from './results.js';

function inputs(m: LinModResult | GlmResult): ColumnInfo[] {
  const spec = m.design.model;
  const out = new Map<string, ColumnInfo>();
  for (const t of spec.terms)
    for (const vi of t.vars) {
      const v = spec.variables[vi]!;
      if (v.expr.type === 'name' && v.kind === 'factor' && !v.fRange) out.set(v.expr.name, { name: v.expr.name, type: 'factor', levels: v.levels!.slice() });
      else for (const c of exprColumns(v.expr)) if (!out.has(c)) out.set(c, { name: c, type: 'float64' });
    }
  for (const o of spec.offsets) for (const c of exprColumns(o)) if (!out.has(c)) out.set(c, { name: c, type: 'float64' });
  return [...out.values()];
}

async function score(m: LinModResult | GlmResult, chunk: import('../data/types.js').Chunk) {
  const name = `${m.design.responseLabel}_Pred`;
  const r = await rxPredict(m, chunk.columns, { checkFactorLevels: false });
  return { [name]: r[name] as Float64Array };
}

registerModelKind<LinModResult>({ kind: 'rxLinMod', version: 1, fromJSON: (j) => LinModResult.fromJSON(j as LinModData), inputs, score });
registerModelKind<GlmResult>({ kind: 'rxLogit', version: 1, fromJSON: (j) => GlmResult.fromJSON(j as GlmData), inputs, score });
registerModelKind<GlmResult>({ kind: 'rxGlm', version: 1, fromJSON: (j) => GlmResult.fromJSON(j as GlmData), inputs, score });
