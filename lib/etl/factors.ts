/**
 * rxFactors: create or recode factor columns (RevoScaleR semantics).
 *
 * factorInfo is either an array of column names (each becomes a factor with its values'
 * labels as levels) or an object keyed by the output column name:
 *   { levels?: string[]          the new level list; other values -> missing (or otherLevel)
 *     otherLevel?: string        label for values outside `levels` (appended as a level)
 *     sortLevels?: boolean       sort the resulting levels (numerically when all are numbers)
 *     varName?: string           source column (default: the output name)
 *     newLevels?: string[] | Record<string, string[]>
 *                                array: rename the source levels one to one;
 *                                object: new label -> old labels it merges (others keep theirs)
 *     description?: string }
 * When the final levels depend on the data (no `levels` and the source is not a factor
 * with known levels), one extra pass collects them first, so every chunk is coded the same.
 */
import type { RxMemoryData } from '../data/memory.js';
import type { ColumnInfo, DataSource } from '../data/types.js';
import { RxError } from '../errors.js';
import { argError } from '../validate.js';
import { LevelMap, copyData, resolveInput, resolveOutput } from './common.js';
import { type ColumnPlan, ConvertedSource } from './convert.js';
import type { InData, OutFile } from './import.js';
import { sortLevels as sortLabels } from './info.js';

export interface FactorInfoEntry {
  levels?: string[];
  otherLevel?: string;
  sortLevels?: boolean;
  varName?: string;
  newLevels?: string[] | Record<string, string[]>;
  description?: string;
  ordered?: boolean;
}

export interface RxFactorsOptions {
  inData: InData;
  factorInfo: string[] | Record<string, FactorInfoEntry>;
  outFile?: OutFile;
  /** Default for entries without their own sortLevels (default false). */
  sortLevels?: boolean;
  otherLevel?: string;
  overwrite?: boolean;
  rowsPerRead?: number;
  reportProgress?: 0 | 1 | 2 | 3;
}

/** Levels a column's values produce, in first-appearance order (one pass). */
async function observedLevels(source: DataSource, from: string): Promise<string[]> {
  const plan: ColumnPlan = { info: { name: from, type: 'factor' }, from };
  const conv = new ConvertedSource(source, [plan]);
  for await (const _ of conv.chunks({ columns: [from] })) {
    // levels accumulate in plan.info.levels
  }
  return plan.info.levels ?? [];
}

export async function rxFactors(opts: RxFactorsOptions): Promise<RxMemoryData | DataSource> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxFactors', opts);
  const source = resolveInput(opts.inData, 'inData');
  const schema = await source.schema();
  const fi = opts.factorInfo;
  let entries: Array<[string, FactorInfoEntry]>;
  if (Array.isArray(fi)) entries = fi.map((n) => [n, {}]);
  else if (typeof fi === 'object' && fi !== null) entries = Object.entries(fi);
  else throw argError('an array of column names or an object of factor information', 'factorInfo', fi);
  const plans: ColumnPlan[] = [];
  for (const [name, e] of entries) {
    const from = e.varName ?? name;
    const src = schema.columns.find((c) => c.name === from);
    if (!src) throw new RxError('RX_SCHEMA', `factorInfo names column "${from}", which is not in the data`, { column: from });
    const sort = e.sortLevels ?? opts.sortLevels ?? false;
    const other = e.otherLevel ?? opts.otherLevel;
    let relabel: Map<string, string> | undefined;
    let levels: string[];
    if (e.levels) {
      levels = [...e.levels];
      if (e.newLevels && !Array.isArray(e.newLevels)) throw new RxError('RX_ARG', `factorInfo "${name}": give either levels with newLevels as an array of new labels, or newLevels as an object`, { column: name });
      if (e.newLevels) {
        if (e.newLevels.length !== levels.length)
          throw new RxError('RX_ARG', `factorInfo "${name}": newLevels has ${e.newLevels.length} labels but levels has ${levels.length}`, { column: name });
        relabel = new Map(levels.map((l, i) => [l, (e.newLevels as string[])[i]!]));
        levels = [...new Set(e.newLevels)];
      }
    } else {
      const old = src.type === 'factor' && src.levels ? [...src.levels] : await observedLevels(source, from);
      if (Array.isArray(e.newLevels)) {
        if (e.newLevels.length !== old.length) throw new RxError('RX_ARG', `factorInfo "${name}": newLevels has ${e.newLevels.length} labels but "${from}" has ${old.length} levels`, { column: name });
        relabel = new Map(old.map((l, i) => [l, (e.newLevels as string[])[i]!]));
      } else if (e.newLevels) {
        relabel = new Map();
        for (const [nl, olds] of Object.entries(e.newLevels)) {
          if (!Array.isArray(olds)) throw argError('an array of old level labels', `factorInfo "${name}" newLevels "${nl}"`, olds);
          for (const o of olds) relabel.set(o, nl);
        }
      }
      const lm = new LevelMap();
      // merged levels take the place of the first old level they absorb
      for (const l of old) lm.code(relabel?.get(l) ?? l);
      if (e.newLevels && !Array.isArray(e.newLevels)) for (const nl of Object.keys(e.newLevels)) lm.code(nl);
      levels = lm.levels;
    }
    if (sort) levels = sortLabels(levels);
    if (other !== undefined && !levels.includes(other)) levels.push(other);
    const info: ColumnInfo = { name, type: 'factor', levels };
    const ordered = e.ordered ?? (src.type === 'factor' ? src.ordered : undefined);
    if (ordered !== undefined) info.ordered = ordered;
    const desc = e.description ?? (from === name ? src.description : undefined);
    if (desc !== undefined) info.description = desc;
    const plan: ColumnPlan = { info, from, fixedLevels: true };
    if (relabel) plan.relabel = relabel;
    if (other !== undefined) plan.otherLevel = other;
    plans.push(plan);
  }
  const converted = new ConvertedSource(source, plans);
  const sink = resolveOutput(opts.outFile);
  const res = await copyData(converted, sink, {
    overwrite: opts.overwrite ?? false,
    ...(opts.rowsPerRead !== undefined ? { rowsPerRead: opts.rowsPerRead } : {}),
    ...(opts.reportProgress !== undefined ? { reportProgress: opts.reportProgress } : {}),
    label: 'rxFactors',
  });
  return sink ?? res.memory!;
}
