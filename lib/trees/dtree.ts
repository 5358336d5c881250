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
      ...(cost ? { cost } : {}),
    },
    xg,
  );
  const root = r.rootRisk;
  const cptable: CpRow[] = [];
  for (let i = 0; i < r.cpTable.length; i += 5)
    cptable.push({ CP: r.cpTable[i]! / root, nsplit: r.cpTable[i + 1]!, relError: r.cpTable[i + 2]! / root, xerror: r.cpTable[i + 3]! / root, xstd: r.cpTable[i + 4]! / root });
  const { risk, complexity, wt, yval, nobs, swap, classWt, improve, cpTable: _c, rootRisk: _r, ...trees } = r;
  const model = new RxTreeModel({
    kind: 'rxDTree',
    formula,
    task: method,
    response: pd.response,
    features: pd.features,
    trees,
    params: { method, split, minSplit, minBucket, maxDepth, cp, maxNumBins, xVal: Array.isArray(xv) ? 'groups' : xv },
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
      nObs: pd.n - pd.droppedMissingY,
    },
  });
  return model;
}

function ex<T>(m: RxTreeModel, k: string): T {
  return m.extra[k] as T;
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
      lowLab = `${feat.name}=${lvls.filter((_, c) => inLeft(c)).join(',')}`;
      highLab = `${feat.name}=${lvls.filter((_, c) => !inLeft(c)).join(',')}`;
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
  const lines = [`n= ${ex<number>(m, 'nObs')} `, ''];
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
  for (let i = 0; i < t.feature.length; i++) {
    const f = t.feature[i]!;
    if (f < 0) continue;
    const nm = m.features[f]!.name;
    imp[nm] = (imp[nm] ?? 0) + improve[i]! * (m.task === 'anova' ? ex<number[]>(m, 'risk')[i]! : 1);
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
  const extra: Record<string, unknown> = { ...m.extra, classWt: out.classWt };
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
