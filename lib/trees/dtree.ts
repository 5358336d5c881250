/** rxDTree (rpart-style trees with cp table and cross-validation), rxPrune, rxVarImpPlot. */
import { RxError } from '../errors.js';
import { treeNative } from '../native/tree.js';
import { argError, expectNumber, expectOneOf } from '../validate.js';
import { prepareTreeData } from './data.js';
import { formatCommon, padCommon, signifStr } from './format.js';
import { RxTreeModel } from './model.js';

export interface DTreeOptions {
  method?: 'class' | 'anova';
  parms?: { split?: 'gini' | 'information'; prior?: number[]; loss?: number[][] };
  /** per-predictor costs (rpart): a split's improvement is divided by its variable's cost when choosing */
  cost?: number[] | Record<string, number>;
  minSplit?: number;
  minBucket?: number;
  maxDepth?: number;
  cp?: number;
  /** number of cross-validation folds, or a fold number (1..V) per row */
  xVal?: number | number[];
  maxNumBins?: number;
  maxUnorderedLevels?: number;
  /** competitor splits kept per node and shown by dtreeSummary (rpart maxcompete; default 0) */
  maxCompete?: number;
  /** surrogate splits kept per node (rpart maxsurrogate; default 0) */
  maxSurrogate?: number;
  /**
   * rows whose split variable is missing (rpart usesurrogate, default 2): 0 stay at the node,
   * 1 follow the first surrogate that is not missing (else stay), 2 as 1, then the majority direction
   */
  useSurrogate?: 0 | 1 | 2;
  seed?: number;
  weights?: string;
  rowsPerRead?: number;
}

export interface CpRow {
  CP: number;
  nsplit: number;
  relError: number;
  xerror: number;
  xstd: number;
}

export interface DTreeFrameRow {
  node: number;
  var: string;
  n: number;
  wt: number;
  dev: number;
  yval: number | string;
  complexity: number;
  yprob?: number[];
  split?: string;
  improve?: number;
  ncompete: number;
  nsurrogate: number;
}

/** One row of rpart's splits matrix (rpart orientation: left = rpart's left child). */
export interface DTreeSplit {
  /** predictor index (model.features) */
  var: number;
  /** numeric: -1 (x < index goes left) or 1 (goes right); factor: number of levels */
  ncat: number;
  /** primary / competitor: improvement; surrogate: agreement */
  improve: number;
  index: number;
  /** primary / competitor: rows with the variable present; surrogate: rows it sent on */
  count: number;
  adj: number;
  /** factor splits: per level -1 left, 1 right, 0 not present at the node */
  dirs?: number[];
}

/** Per node: [primary, competitors..., surrogates...] and the majority direction. */
export interface DTreeNodeSplits {
  ncompete: number;
  nsurrogate: number;
  /** -1 left, 1 right, 0 none */
  lastDir: number;
  splits: DTreeSplit[];
}

function folds(n: number, v: number, seed: number): Int32Array {
  const g = new Int32Array(n);
  for (let i = 0; i < n; i++) g[i] = (i % v) + 1;
  let s = (seed >>> 0) || 1;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = g[i]!;
    g[i] = g[j]!;
    g[j] = t;
  }
  return g;
}

export async function rxDTree(formula: string, data: unknown, options: DTreeOptions = {}): Promise<RxTreeModel> {
  const minSplit = options.minSplit === undefined ? 20 : expectNumber(options.minSplit, 'minSplit', { min: 1, integer: true });
  const minBucket = options.minBucket === undefined ? Math.max(1, Math.round(minSplit / 3)) : expectNumber(options.minBucket, 'minBucket', { min: 1, integer: true });
  const maxDepth = options.maxDepth === undefined ? 10 : expectNumber(options.maxDepth, 'maxDepth', { min: 1, max: 30, integer: true });
  const cp = options.cp === undefined ? 0 : expectNumber(options.cp, 'cp', { min: 0 });
  const split = expectOneOf(options.parms?.split ?? 'gini', ['gini', 'information'] as const, 'parms.split');
  const maxUnorderedLevels = options.maxUnorderedLevels === undefined ? 32 : expectNumber(options.maxUnorderedLevels, 'maxUnorderedLevels', { min: 2, integer: true });
  const maxCompete = options.maxCompete === undefined ? 0 : expectNumber(options.maxCompete, 'maxCompete', { min: 0, integer: true });
  const maxSurrogate = options.maxSurrogate === undefined ? 0 : expectNumber(options.maxSurrogate, 'maxSurrogate', { min: 0, integer: true });
  const useSurrogate = options.useSurrogate === undefined ? 2 : expectNumber(options.useSurrogate, 'useSurrogate', { min: 0, max: 2, integer: true });
  let maxNumBins = options.maxNumBins;
  if (maxNumBins === undefined) {
    // RevoScaleR's rule: max(101, min(1001, floor(sqrt(n))))
    const { resolveSource } = await import('../data/resolve.js');
    const src = resolveSource(data);
    const nr = (await src.numRows?.()) ?? (await src.schema()).numRows;
    maxNumBins = nr === undefined ? 1001 : Math.max(101, Math.min(1001, Math.floor(Math.sqrt(nr))));
  } else maxNumBins = expectNumber(maxNumBins, 'maxNumBins', { min: 2, max: 65535, integer: true });
  const pd = await prepareTreeData(formula, data, { maxBins: maxNumBins, ...(options.weights ? { weights: options.weights } : {}), ...(options.rowsPerRead ? { rowsPerRead: options.rowsPerRead } : {}) });
  const method = expectOneOf(options.method ?? (pd.response.type === 'factor' ? 'class' : 'anova'), ['class', 'anova'] as const, 'method');
  if (method === 'class' && pd.response.type !== 'factor') throw new RxError('RX_ARG', "rxDTree: method 'class' needs a factor response", { column: pd.response.name });
  if (method === 'anova' && pd.response.type === 'factor') throw new RxError('RX_ARG', "rxDTree: method 'anova' needs a numeric response", { column: pd.response.name });
  let K = 1;
  let prior: Float64Array | undefined;
  let loss: Float64Array | undefined;
  // rpart's na.rpart: rows with every predictor missing take no part
  let allMissing = 0;
  {
    const { binned, nbins, p } = pd.data;
    for (let i = 0; i < pd.n; i++) {
      if (pd.w[i] === 0) continue;
      let all = true;
      for (let j = 0; j < p && all; j++) all = binned[j * pd.n + i] === nbins[j]! - 1;
      if (all) {
        pd.w[i] = 0;
        allMissing++;
      }
    }
  }
  let anyRow = false;
  for (let i = 0; i < pd.n; i++) if (pd.w[i]! > 0) anyRow = true;
  if (!anyRow) throw new RxError('RX_ARG', 'rxDTree: no rows with a non-missing response and positive weight');
  if (method === 'class') {
    K = pd.response.levels!.length;
    const freq = new Array(K).fill(0);
    let tot = 0;
    for (let i = 0; i < pd.n; i++) {
      freq[pd.y[i]!] += pd.w[i]!;
      tot += pd.w[i]!;
    }
    if (freq.filter((f) => f > 0).length < 2) throw new RxError('RX_ARG', `rxDTree: the response "${pd.response.name}" has only one class in the data`, { column: pd.response.name });
    const pr = options.parms?.prior ?? freq.map((f) => f / tot);
    if (pr.length !== K || pr.some((v) => !(v >= 0)) || Math.abs(pr.reduce((a, b) => a + b, 0) - 1) > 1e-8) throw argError(`${K} non-negative priors summing to 1`, 'parms.prior', pr);
    prior = Float64Array.from(pr);
    const L = options.parms?.loss ?? Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => (i === j ? 0 : 1)));
    if (L.length !== K || L.some((r) => r.length !== K)) throw argError(`a ${K}x${K} loss matrix`, 'parms.loss', L);
    loss = Float64Array.from(L.flat());
  }
  let cost: Float64Array | undefined;
  if (options.cost !== undefined) {
    const c = options.cost;
    const arr = Array.isArray(c) ? c : pd.features.map((f) => (c as Record<string, number>)[f.name] ?? 1);
    if (arr.length !== pd.features.length || arr.some((v) => typeof v !== 'number' || !(v > 0)))
      throw argError(`${pd.features.length} positive costs (one per predictor)`, 'cost', c);
    cost = Float64Array.from(arr);
  }
  let xg: Int32Array | undefined;
  const xv = options.xVal ?? 2;
  if (Array.isArray(xv)) {
    if (xv.length !== pd.n || xv.some((g) => !Number.isInteger(g) || g < 1)) throw argError(`${pd.n} fold numbers >= 1`, 'xVal', xv);
    xg = Int32Array.from(xv);
  } else {
    const v = expectNumber(xv, 'xVal', { min: 0, integer: true });
    if (v > 1) xg = folds(pd.n, v, options.seed ?? 1);
  }
  const r = await treeNative().treeTrainRpart(
    pd.data,
    pd.y,
    pd.w,
    {
      method: method === 'class' ? 1 : 0,
      numClass: K,
      split: split === 'information' ? 1 : 0,
      ...(prior ? { prior } : {}),
      ...(loss ? { loss } : {}),
      minSplit,
      minBucket,
      maxDepth,
      cp,
      maxUnorderedLevels,
      maxCompete,
      maxSurrogate,
      useSurrogate,
      ...(cost ? { cost } : {}),
    },
    xg,
  );
  const root = r.rootRisk;
  const cptable: CpRow[] = [];
  for (let i = 0; i < r.cpTable.length; i += 5)
    cptable.push({ CP: r.cpTable[i]! / root, nsplit: r.cpTable[i + 1]!, relError: r.cpTable[i + 2]! / root, xerror: r.cpTable[i + 3]! / root, xstd: r.cpTable[i + 4]! / root });
  const {
    risk,
    complexity,
    wt,
    yval,
    nobs,
    swap,
    classWt,
    improve,
    cpTable: _c,
    rootRisk: _r,
    splitStart,
    nCompete,
    nSurrogate,
    lastDir,
    splitVar,
    splitNcat,
    splitCount,
    splitCatOffset,
    splitImprove,
    splitIndex,
    splitAdj,
    catDir,
    ...trees
  } = r;
  const nodeSplits: DTreeNodeSplits[] = [];
  for (let i = 0; i + 1 < splitStart.length; i++) {
    const splits: DTreeSplit[] = [];
    for (let j = splitStart[i]!; j < splitStart[i + 1]!; j++) {
      const sp: DTreeSplit = { var: splitVar[j]!, ncat: splitNcat[j]!, improve: splitImprove[j]!, index: splitIndex[j]!, count: splitCount[j]!, adj: splitAdj[j]! };
      if (splitCatOffset[j]! >= 0) sp.dirs = Array.from(catDir.subarray(splitCatOffset[j]!, splitCatOffset[j]! + splitNcat[j]!));
      splits.push(sp);
    }
    nodeSplits.push({ ncompete: nCompete[i]!, nsurrogate: nSurrogate[i]!, lastDir: lastDir[i]!, splits });
  }
  const model = new RxTreeModel({
    kind: 'rxDTree',
    formula,
    task: method,
    response: pd.response,
    features: pd.features,
    trees,
    params: { method, split, minSplit, minBucket, maxDepth, cp, maxNumBins, maxCompete, maxSurrogate, useSurrogate, xVal: Array.isArray(xv) ? 'groups' : xv },
    extra: {
      cptable,
      rootRisk: root,
      risk: Array.from(risk),
      complexity: Array.from(complexity).map((c) => c / root),
      wt: Array.from(wt),
      yval: Array.from(yval),
      nobs: Array.from(nobs),
      swap: Array.from(swap),
      classWt: Array.from(classWt),
      improve: Array.from(improve),
      nodeSplits,
      useSurrogate,
      ...(prior ? { prior: Array.from(prior) } : {}),
      nObs: pd.n - pd.droppedMissingY - allMissing,
      nDeleted: pd.droppedMissingY + allMissing,
    },
  });
  return model;
}

function ex<T>(m: RxTreeModel, k: string): T {
  return m.extra[k] as T;
}

function nodeSplitsOf(m: RxTreeModel): DTreeNodeSplits[] {
  return (m.extra.nodeSplits as DTreeNodeSplits[] | undefined) ?? [];
}

/** print.rpart's first line */
function nLine(m: RxTreeModel): string {
  const del = (m.extra.nDeleted as number | undefined) ?? 0;
  const n = ex<number>(m, 'nObs');
  return del > 0 ? `n=${n} (${del} observation${del === 1 ? '' : 's'} deleted due to missingness)` : `n= ${n} `;
}

/** C's printf("%.<digits>g") (rpart's formatg). */
function fmtG(x: number, digits = 7): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Inf' : '-Inf';
  if (x === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(digits)))));
  if (e < -4 || e >= digits) {
    const [mant, ex2] = x.toExponential(digits - 1).split('e');
    const mm = mant!.includes('.') ? mant!.replace(/0+$/, '').replace(/\.$/, '') : mant!;
    const ee = Number(ex2);
    return `${mm}e${ee < 0 ? '-' : '+'}${String(Math.abs(ee)).padStart(2, '0')}`;
  }
  const t = x.toFixed(Math.max(0, digits - 1 - e));
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}

/** R's format(x) on a vector (7 significant digits, common decimals, right-justified). */
function fmtVec(xs: number[]): string[] {
  return padCommon(formatCommon(xs, 7, true));
}

/** R's format(strings, justify = 'left'). */
function padRight(xs: string[]): string[] {
  const w = Math.max(0, ...xs.map((x) => x.length));
  return xs.map((x) => x.padEnd(w));
}

/**
 * The node section of rpart's summary.rpart (from "Node number 1:" on): node statistics,
 * sons, "Primary splits:" (the split and its competitors with their improvement and missing
 * counts) and "Surrogate splits:" (agreement, adjusted agreement, rows each one sent on).
 */
export function dtreeSummary(m: RxTreeModel, cp = 0): string {
  if (m.kind !== 'rxDTree') throw new RxError('RX_ARG', 'dtreeSummary needs an rxDTree model');
  const fr = dtreeFrame(m);
  const t = m.trees;
  const ns = nodeSplitsOf(m);
  // frame rows are preorder; tree node index by preorder position
  const order: number[] = [];
  const swap = ex<number[]>(m, 'swap');
  const walk = (nd: number) => {
    order.push(nd);
    if (t.feature[nd]! < 0) return;
    walk(swap[nd] ? t.right[nd]! : t.left[nd]!);
    walk(swap[nd] ? t.left[nd]! : t.right[nd]!);
  };
  walk(0);
  const byId = new Map(fr.map((r, i) => [r.node, i]));
  const rows = fr.map((_, i) => i).filter((i) => {
    const id = fr[i]!.node;
    const parent = id === 1 ? 1 : Math.floor(id / 2);
    return fr[byId.get(parent)!]!.complexity > cp;
  });
  rows.sort((a, b) => fr[a]!.node - fr[b]!.node);
  if (rows.length === 0) rows.push(0);
  // cut labels over every split of the tree (numeric ones padded to a common width)
  const all: { nd: number; sp: DTreeSplit }[] = [];
  for (const nd of order) for (const sp of ns[nd]?.splits ?? []) all.push({ nd, sp });
  const cutsRaw = all.map(({ sp }) =>
    sp.dirs ? `splits as  ${sp.dirs.map((d) => (d < 0 ? 'L' : d > 0 ? 'R' : '-')).join('')}` : `< ${signifStr(sp.index, 7)}`,
  );
  const numIdx = all.map((a, i) => (a.sp.dirs ? -1 : i)).filter((i) => i >= 0);
  const padded = padRight(numIdx.map((i) => cutsRaw[i]!));
  numIdx.forEach((i, k) => {
    cutsRaw[i] = padded[k]!;
  });
  const cuts = all.map(({ sp }, i) => cutsRaw[i]! + (sp.dirs ? ',' : sp.ncat === 1 ? ' to the right,' : ' to the left, '));
  const splitPos = new Map<number, number>();
  {
    let k = 0;
    for (const nd of order) {
      splitPos.set(nd, k);
      k += ns[nd]?.splits.length ?? 0;
    }
  }
  const lv = m.levels;
  const K = t.K;
  const prior = m.extra.prior as number[] | undefined;
  const classWt = ex<number[]>(m, 'classWt');
  const rootWt = fr[0]!.wt;
  // node statistics lines (rpart's functions$summary)
  let stat: string[];
  if (lv) {
    const nodeprob = rows.map((i) => {
      const nd = order[i]!;
      let pr = 0;
      for (let k = 0; k < K; k++) pr += classWt[k]! > 0 ? (prior![k]! * classWt[nd * K + k]!) / classWt[k]! : 0;
      return pr;
    });
    const groups = padRight(rows.map((i) => String(fr[i]!.yval)));
    stat = rows.map((i, ii) => {
      const nd = order[i]!;
      const counts = Array.from({ length: K }, (_, k) => fmtG(classWt[nd * K + k]!, 6).padStart(5)).join(' ');
      const probs = (fr[i]!.yprob ?? []).map((p) => p.toFixed(3).padStart(5)).join(' ');
      const loss = fr[i]!.dev / (rootWt * nodeprob[ii]!);
      return `  predicted class=${groups[ii]}  expected loss=${fmtG(loss)}  P(node) =${fmtG(nodeprob[ii]!)}\n    class counts: ${counts}\n   probabilities: ${probs}`;
    });
  } else {
    stat = rows.map((i) => `  mean=${fmtG(fr[i]!.yval as number)}, MSE=${fmtG(fr[i]!.dev / fr[i]!.wt)}`);
  }
  const out: string[] = [];
  rows.forEach((i, ii) => {
    const r = fr[i]!;
    const nd = order[i]!;
    const leaf = r.var === '<leaf>';
    out.push(`${ii === 0 ? '' : '\n'}Node number ${r.node}: ${r.n} observations${r.complexity < cp || leaf ? '' : `,    complexity param=${signifStr(r.complexity, 7)}`}`);
    out.push(`${stat[ii]} `);
    if (r.complexity > cp && !leaf) {
      const sons = [2 * r.node, 2 * r.node + 1];
      const sn = sons.map((s) => fr[byId.get(s)!]!.n);
      const j = r.n - (sn[0]! + sn[1]!);
      out.push(`  left son=${sons[0]} (${sn[0]} obs) right son=${sons[1]} (${sn[1]} obs)${j > 1 ? `, ${j} observations remain` : j === 1 ? ', 1 observation remains' : ''}`);
      const info = ns[nd]!;
      const base = splitPos.get(nd)!;
      const name = (sp: DTreeSplit) => m.features[sp.var]!.name;
      const block = (from: number, cnt: number) => {
        const idx = Array.from({ length: cnt }, (_, k) => base + from + k);
        const c = idx.map((k) => cuts[k]!);
        return { names: padRight(idx.map((k) => name(all[k]!.sp))), cuts: c.every((x) => x.length < 25) ? padRight(c) : c, sp: idx.map((k) => all[k]!.sp) };
      };
      out.push('  Primary splits:');
      const pb = block(0, 1 + info.ncompete);
      const imp = fmtVec(pb.sp.map((sp) => sp.improve));
      for (let k = 0; k < pb.sp.length; k++) out.push(`      ${pb.names[k]} ${pb.cuts[k]} improve=${imp[k]}, (${r.n - pb.sp[k]!.count} missing)`);
      if (info.nsurrogate > 0) {
        out.push('  Surrogate splits:');
        const sb = block(1 + info.ncompete, info.nsurrogate);
        const agree = padCommon(formatCommon(sb.sp.map((sp) => Math.round(sp.improve * 1000) / 1000), 7));
        const adj = padCommon(formatCommon(sb.sp.map((sp) => Math.round(sp.adj * 1000) / 1000), 7));
        for (let k = 0; k < sb.sp.length; k++) out.push(`      ${sb.names[k]} ${sb.cuts[k]} agree=${agree[k]}, adj=${adj[k]}, (${sb.sp[k]!.count} split)`);
      }
    }
  });
  out.push('');
  return out.join('\n');
}

/**
 * Per-row outputs of an rxDTree (class probabilities or means, n x K row-major) for a
 * column-major predictor matrix: rpart's prediction, where a row whose split variable is
 * missing follows the surrogates (useSurrogate >= 1), then the majority (useSurrogate 2),
 * else stops at the node and takes its value.
 */
export function dtreeRawScores(m: RxTreeModel, x: Float64Array, n: number): Float64Array {
  const t = m.trees;
  const K = t.K;
  const ns = nodeSplitsOf(m);
  const swap = ex<number[]>(m, 'swap');
  const use = (m.extra.useSurrogate as number | undefined) ?? 2;
  const nobs = ex<number[]>(m, 'nobs');
  const out = new Float64Array(n * K);
  const dirOf = (sp: DTreeSplit, i: number): number => {
    const v = x[sp.var * n + i]!;
    if (Number.isNaN(v)) return 0;
    if (sp.dirs) return sp.dirs[v] ?? 0;
    return v < sp.index ? sp.ncat : -sp.ncat;
  };
  for (let i = 0; i < n; i++) {
    let nd = 0;
    while (t.feature[nd]! >= 0) {
      const info = ns[nd];
      const rl = swap[nd] ? t.right[nd]! : t.left[nd]!;
      const rr = swap[nd] ? t.left[nd]! : t.right[nd]!;
      let dir = 0;
      if (info && info.splits.length > 0) {
        dir = dirOf(info.splits[0]!, i);
        if (dir === 0 && use > 0)
          for (let k = 1 + info.ncompete; k < info.splits.length && dir === 0; k++) dir = dirOf(info.splits[k]!, i);
      } else {
        const v = x[t.feature[nd]! * n + i]!;
        if (!Number.isNaN(v)) dir = (t.catOffset[nd]! >= 0 ? ((t.catBits[t.catOffset[nd]! + (v >> 5)]! >>> (v & 31)) & 1) === 1 : v <= t.threshold[nd]!) !== (swap[nd] === 1) ? -1 : 1;
      }
      // the majority direction by rows (rpart's predict; a tie stays at the node)
      if (dir === 0 && use === 2) dir = nobs[rl]! > nobs[rr]! ? -1 : nobs[rl]! < nobs[rr]! ? 1 : 0;
      if (dir === 0) break;
      nd = dir < 0 ? rl : rr;
    }
    for (let k = 0; k < K; k++) out[i * K + k] = t.value[nd * K + k]!;
  }
  return out;
}

/** rpart-style node frame (preorder, rpart node numbers). */
export function dtreeFrame(m: RxTreeModel): DTreeFrameRow[] {
  if (m.kind !== 'rxDTree') throw new RxError('RX_ARG', 'dtreeFrame needs an rxDTree model');
  const t = m.trees;
  const swap = ex<number[]>(m, 'swap');
  const rows: DTreeFrameRow[] = [];
  const K = t.K;
  const lv = m.levels;
  const walk = (nd: number, num: number, label: string) => {
    const f = t.feature[nd]!;
    const row: DTreeFrameRow = {
      node: num,
      var: f >= 0 ? m.features[f]!.name : '<leaf>',
      n: ex<number[]>(m, 'nobs')[nd]!,
      wt: ex<number[]>(m, 'wt')[nd]!,
      dev: ex<number[]>(m, 'risk')[nd]!,
      yval: lv ? lv[ex<number[]>(m, 'yval')[nd]!]! : ex<number[]>(m, 'yval')[nd]!,
      complexity: ex<number[]>(m, 'complexity')[nd]!,
      split: label,
      ncompete: nodeSplitsOf(m)[nd]?.ncompete ?? 0,
      nsurrogate: nodeSplitsOf(m)[nd]?.nsurrogate ?? 0,
    };
    if (lv) row.yprob = Array.from(t.value.slice(nd * K, nd * K + K));
    if (f >= 0) row.improve = ex<number[]>(m, 'improve')[nd]!;
    rows.push(row);
    if (f < 0) return;
    const feat = m.features[f]!;
    let lowLab: string;
    let highLab: string;
    if (t.catOffset[nd]! >= 0) {
      const lvls = feat.levels ?? [];
      const inLeft = (c: number) => ((t.catBits[t.catOffset[nd]! + (c >> 5)]! >>> (c & 31)) & 1) === 1;
      // levels present at the node only (rpart), when the split directions are known
      const dirs = nodeSplitsOf(m)[nd]?.splits[0]?.dirs;
      lowLab = `${feat.name}=${lvls.filter((_, c) => (dirs ? dirs[c] === -1 : inLeft(c))).join(',')}`;
      highLab = `${feat.name}=${lvls.filter((_, c) => (dirs ? dirs[c] === 1 : !inLeft(c))).join(',')}`;
    } else {
      const cut = signifStr(t.threshold[nd]!, 4);
      lowLab = `${feat.name}< ${cut}`;
      highLab = `${feat.name}>=${cut}`;
    }
    if (swap[nd]) {
      walk(t.right[nd]!, 2 * num, highLab);
      walk(t.left[nd]!, 2 * num + 1, lowLab);
    } else {
      walk(t.left[nd]!, 2 * num, lowLab);
      walk(t.right[nd]!, 2 * num + 1, highLab);
    }
  };
  walk(0, 1, 'root');
  return rows;
}

/** Prints the tree as rpart's print.rpart does. */
export function dtreeToString(m: RxTreeModel): string {
  const fr = dtreeFrame(m);
  const lv = m.levels;
  const nums = padCommon(fr.map((r) => String(r.node)));
  const devs = padCommon(formatCommon(fr.map((r) => r.dev), 7, true));
  const yvals = lv ? [] : padCommon(formatCommon(fr.map((r) => r.yval as number), 7, true));
  const probs = lv ? formatCommon(fr.flatMap((r) => r.yprob!), 7) : [];
  const K = lv?.length ?? 0;
  const lines = [nLine(m), ''];
  lines.push(lv ? 'node), split, n, loss, yval, (yprob)' : 'node), split, n, deviance, yval', '      * denotes terminal node', '');
  fr.forEach((r, i) => {
    const depth = Math.floor(Math.log2(r.node));
    const leaf = r.var === '<leaf>';
    const yv = lv ? String(r.yval) : yvals[i]!;
    let s = `${' '.repeat(2 * depth)}${nums[i]}) ${r.split} ${r.n} ${devs[i]} ${yv}`;
    if (lv) s += ` (${probs.slice(i * K, i * K + K).join(' ')})`;
    s += leaf ? ' *' : '  ';
    lines.push(s);
  });
  return lines.join('\n');
}

/** rpart-style variable importance from the primary splits (sum of improvements). */
export function dtreeImportance(m: RxTreeModel): Record<string, number> {
  const t = m.trees;
  const imp: Record<string, number> = {};
  const improve = ex<number[]>(m, 'improve');
  const ns = nodeSplitsOf(m);
  for (let i = 0; i < t.feature.length; i++) {
    const f = t.feature[i]!;
    if (f < 0) continue;
    const nm = m.features[f]!.name;
    const scaled = improve[i]! * (m.task === 'anova' ? ex<number[]>(m, 'risk')[i]! : 1);
    imp[nm] = (imp[nm] ?? 0) + scaled;
    // surrogates count with their adjusted agreement (rpart's importance)
    const info = ns[i];
    if (info)
      for (const sp of info.splits.slice(1 + info.ncompete)) {
        const sn = m.features[sp.var]!.name;
        imp[sn] = (imp[sn] ?? 0) + scaled * sp.adj;
      }
  }
  return Object.fromEntries(Object.entries(imp).sort((a, b) => b[1] - a[1]));
}

/** Prunes an rxDTree at complexity `cp` (relative, as in the cp table): splits with complexity <= cp are removed. */
export function rxPrune(m: RxTreeModel, cp: number): RxTreeModel {
  if (!(m instanceof RxTreeModel) || m.kind !== 'rxDTree') throw new RxError('RX_ARG', 'Expected an rxDTree model for tree');
  expectNumber(cp, 'cp', { min: 0 });
  const t = m.trees;
  const K = t.K;
  const cx = ex<number[]>(m, 'complexity');
  const per = ['risk', 'complexity', 'wt', 'yval', 'nobs', 'swap', 'improve'] as const;
  const out: Record<string, number[]> = { feature: [], threshold: [], splitBin: [], left: [], right: [], defaultLeft: [], catOffset: [], catWords: [], value: [], gain: [], cover: [], count: [], classWt: [] };
  for (const k of per) out[k] = [];
  const catBits: number[] = [];
  const classWt = ex<number[]>(m, 'classWt');
  const nsIn = nodeSplitsOf(m);
  const nsOut: DTreeNodeSplits[] = [];
  const copy = (nd: number): number => {
    const id = out.feature!.length;
    const keep = t.feature[nd]! >= 0 && cx[nd]! > cp;
    out.feature!.push(keep ? t.feature[nd]! : -1);
    out.threshold!.push(t.threshold[nd]!);
    out.splitBin!.push(t.splitBin[nd]!);
    out.left!.push(-1);
    out.right!.push(-1);
    out.defaultLeft!.push(t.defaultLeft[nd]!);
    if (keep && t.catOffset[nd]! >= 0) {
      out.catOffset!.push(catBits.length);
      for (let k = 0; k < t.catWords[nd]!; k++) catBits.push(t.catBits[t.catOffset[nd]! + k]!);
      out.catWords!.push(t.catWords[nd]!);
    } else {
      out.catOffset!.push(-1);
      out.catWords!.push(0);
    }
    for (let k = 0; k < K; k++) out.value!.push(t.value[nd * K + k]!);
    out.gain!.push(keep ? t.gain[nd]! : 0);
    out.cover!.push(t.cover[nd]!);
    out.count!.push(t.count[nd]!);
    if (classWt.length) for (let k = 0; k < K; k++) out.classWt!.push(classWt[nd * K + k]!);
    nsOut.push(keep && nsIn[nd] ? nsIn[nd]! : { ncompete: 0, nsurrogate: 0, lastDir: 0, splits: [] });
    for (const k of per) {
      const v = (m.extra[k] as number[])[nd]!;
      out[k]!.push(k === 'complexity' && !keep ? Math.min(v, cp) : k === 'improve' && !keep ? 0 : k === 'swap' && !keep ? 0 : v);
    }
    if (keep) {
      const sw = (m.extra.swap as number[])[nd]!;
      const first = sw ? t.right[nd]! : t.left[nd]!;
      const second = sw ? t.left[nd]! : t.right[nd]!;
      const a = copy(first);
      const b = copy(second);
      out.left![id] = sw ? b : a;
      out.right![id] = sw ? a : b;
    }
    return id;
  };
  copy(0);
  const N = out.feature!.length;
  const trees = {
    K,
    nodeOffset: Int32Array.of(0, N),
    feature: Int32Array.from(out.feature!),
    threshold: Float64Array.from(out.threshold!),
    splitBin: Int32Array.from(out.splitBin!),
    left: Int32Array.from(out.left!),
    right: Int32Array.from(out.right!),
    defaultLeft: Uint8Array.from(out.defaultLeft!),
    catOffset: Int32Array.from(out.catOffset!),
    catWords: Int32Array.from(out.catWords!),
    catBits: Int32Array.from(catBits),
    value: Float64Array.from(out.value!),
    gain: Float64Array.from(out.gain!),
    cover: Float64Array.from(out.cover!),
    count: Float64Array.from(out.count!),
    treeClass: Int32Array.of(-1),
    treeWeight: Float64Array.of(1),
  };
  const extra: Record<string, unknown> = { ...m.extra, classWt: out.classWt, nodeSplits: nsOut };
  for (const k of per) extra[k] = out[k];
  extra.cptable = (m.extra.cptable as CpRow[]).filter((r) => r.CP > cp || r === (m.extra.cptable as CpRow[]).find((q) => q.CP <= cp));
  return new RxTreeModel({ kind: m.kind, formula: m.formula, task: m.task, response: m.response, features: m.features, trees, params: { ...m.params, prunedAt: cp }, extra });
}

/** Dot chart of variable importance as a standalone SVG (rxVarImpPlot). */
export function rxVarImpPlot(m: RxTreeModel, opts: { title?: string; width?: number } = {}): string {
  if (!(m instanceof RxTreeModel)) throw new RxError('RX_ARG', 'Expected a tree model for model');
  const imp = Object.entries(m.kind === 'rxDTree' ? dtreeImportance(m) : m.importance()).sort((a, b) => b[1] - a[1]);
  const W = opts.width ?? 480;
  const rowH = 22;
  const left = 140;
  const top = 40;
  const H = top + rowH * imp.length + 30;
  const mx = Math.max(1e-300, ...imp.map((e) => e[1]));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="14">${esc(opts.title ?? `Variable importance (${m.kind})`)}</text>`,
  ];
  imp.forEach(([name, v], i) => {
    const y = top + i * rowH + rowH / 2;
    const x = left + ((W - left - 20) * v) / mx;
    parts.push(`<line x1="${left}" y1="${y}" x2="${W - 20}" y2="${y}" stroke="#ddd" stroke-dasharray="2,2"/>`);
    parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-family="sans-serif" font-size="12">${esc(name)}</text>`);
    parts.push(`<circle cx="${x.toFixed(2)}" cy="${y}" r="4" fill="#1f77b4"><title>${esc(name)}: ${v.toPrecision(6)}</title></circle>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
