/**
 * Real-time scoring without JavaScript per row.
 *
 * `createScorer(model)` compiles a tree model (rxDTree, rxDForest, rxBTrees, rxFastTrees,
 * rxFastForest) or a linear model (rxLinMod, rxLogit, rxGlm) into a native scorer
 * (native/src/score): flattened trees in one contiguous node array / the coefficient
 * table with the inverse link. `scoreRow(x)` is synchronous and allocates nothing: x is a
 * Float64Array of the scorer's `inputs` in order (numbers; factor inputs as the level's
 * index in `inputs[j].levels`; NaN = missing / unknown level). It returns a number for
 * one output (regression, linear models) or the scorer's reused output array (class
 * probabilities, in `levels` order; overwritten by the next call).
 *
 * `rxScore(model, data, { engine })` scores a whole data source: 'native' (the scorer's
 * batch path, rows split over the thread budget) or 'onnx' (onnxruntime-node on the
 * exported graph). Output columns: linear `<y>_Pred`; tree regression `<y>_Pred` (`Score`
 * for rxFastTrees / rxFastForest); tree classifiers one `<level>_prob` column per level
 * and the class in `<y>_Pred` (rxFastTrees / rxFastForest: `Probability` and
 * `PredictedLabel`), decided as rxPredictTrees decides.
 */
import { resolveSource } from '../data/resolve.js';
import type { Chunk } from '../data/types.js';
import { RxError } from '../errors.js';
import type { ModelSpec } from '../formula/spec.js';
import { LINK_CODE, NUM_FN, type ScorerHandle, TREE_POST, scoreNative } from '../native/score.js';
import { argError } from '../validate.js';
import { rxToOnnx } from './index.js';
import { type LinearModelLike, isLinearModelLike } from './linear.js';
import { type TreeModelLike, isTreeModelLike, treeRegressionOutput } from './trees.js';

export interface ScorerInput {
  name: string;
  type: 'numeric' | 'factor';
  levels?: string[];
}

export interface RxScorer {
  readonly kind: string;
  readonly inputs: ScorerInput[];
  /** Output values per row (1: a number from scoreRow). */
  readonly width: number;
  /** Class levels (classifiers): scoreRow's probabilities are in this order. */
  readonly levels?: string[];
  scoreRow(x: Float64Array): number | Float64Array;
  /** The scorer's own input row (length `inputs.length`): fill it, then call `score()`. */
  readonly input: Float64Array;
  /** Scores the current contents of `input`: the fastest single-row call (no arguments, nothing allocated). Returns as scoreRow. */
  score(): number | Float64Array;
  /** Column-major batch (x[j*n + i]) -> row-major n x width. */
  scoreBatch(x: Float64Array, n: number): Promise<Float64Array>;
  scoreBatchSync(x: Float64Array, n: number): Float64Array;
  /** Releases the native model now (later calls raise RX_ARG). */
  dispose(): void;
}

const scorers = new WeakMap<object, RxScorer>();

interface Compiled {
  handle: ScorerHandle;
  inputs: ScorerInput[];
  levels?: string[];
}

function compileTrees(m: TreeModelLike): Compiled {
  const lv = m.levels;
  const outs = m.outputs;
  let post: number = TREE_POST.raw;
  if (lv && lv.length > 0) {
    if (m.task === 'bernoulli') post = m.kind === 'rxFastTrees' ? TREE_POST.sigmoidTriple : TREE_POST.sigmoidPair;
    else if (m.task === 'multinomial') post = TREE_POST.softmax;
    else if (outs === 1 && lv.length === 2) post = TREE_POST.pair;
  } else if (m.task === 'poisson') post = TREE_POST.exp;
  const init = m.init && m.init.length > 0 ? Float64Array.from({ length: outs }, (_, k) => m.init![k % m.init!.length]!) : undefined;
  const handle = scoreNative().scoreTreesCreate(m.trees, m.features.length, outs, post, init);
  const inputs = m.features.map((f) => (f.type === 'factor' ? { name: f.name, type: 'factor' as const, levels: (f.levels ?? []).slice() } : { name: f.name, type: 'numeric' as const }));
  return lv && lv.length > 0 ? { handle, inputs, levels: lv.slice() } : { handle, inputs };
}

function nativeUnsupported(what: string, formula: string): RxError {
  return new RxError(
    'RX_MODEL',
    `The native scorer takes formulas over plain columns and ${Object.keys(NUM_FN).join('/')} of one column; ${what} in "${formula}" is not one (score it with engine 'onnx' or rxPredict's default engine)`,
    { text: what },
  );
}

function compileLinear(m: LinearModelLike): Compiled {
  const d = m.toJSON();
  const spec: ModelSpec = d.design.model;
  const inputs: ScorerInput[] = [];
  const index = new Map<string, number>();
  const inputOf = (name: string, type: 'numeric' | 'factor', levels?: string[]): number => {
    const have = index.get(name);
    if (have !== undefined) {
      if (inputs[have]!.type !== type) throw nativeUnsupported(`column "${name}" used both as a number and as a factor`, spec.formula);
      return have;
    }
    index.set(name, inputs.length);
    inputs.push(levels ? { name, type, levels: levels.slice() } : { name, type });
    return inputs.length - 1;
  };
  // numeric variables may be a column or one of NUM_FN applied to a column (log(x), sqrt(x) ...)
  const varFn = spec.variables.map(() => 0);
  const varInput = spec.variables.map((v, vi) => {
    if (v.fRange) throw nativeUnsupported(v.label, spec.formula);
    if (v.expr.type === 'name') return v.kind === 'factor' ? inputOf(v.expr.name, 'factor', v.levels ?? []) : inputOf(v.expr.name, 'numeric');
    const e = v.expr as { type: string; fn?: string; args?: Array<{ name?: string; value: { type: string; name?: string } }> };
    const code = e.type === 'call' && e.fn !== undefined && Object.hasOwn(NUM_FN, e.fn) ? NUM_FN[e.fn as keyof typeof NUM_FN] : undefined;
    const arg = e.args?.length === 1 && e.args[0]!.name === undefined ? e.args[0]!.value : undefined;
    if (v.kind === 'factor' || code === undefined || arg?.type !== 'name' || arg.name === undefined) throw nativeUnsupported(v.label, spec.formula);
    varFn[vi] = code;
    return inputOf(arg.name, 'numeric');
  });
  const offsets = spec.offsets.map((o) => {
    if (o.type !== 'name') throw nativeUnsupported('an offset expression', spec.formula);
    return inputOf(o.name, 'numeric');
  });
  const beta: number[] = [];
  for (let j = 0, x = 0; j < spec.columns.length; j++) {
    if (spec.columns[j]!.dropped) beta.push(0);
    else {
      const b = d.coefficients[x++];
      beta.push(b === undefined || Number.isNaN(b) ? 0 : b);
    }
  }
  const numOff = [0];
  const numIdx: number[] = [];
  const numFn: number[] = [];
  const facOff = [0];
  const facIdx: number[] = [];
  const facSize: number[] = [];
  const slot: number[] = [];
  for (const t of spec.terms) {
    for (const vi of t.vars) {
      const v = spec.variables[vi]!;
      if (v.kind === 'factor') {
        facIdx.push(varInput[vi]!);
        facSize.push(v.levels!.length);
      } else {
        numIdx.push(varInput[vi]!);
        numFn.push(varFn[vi]!);
      }
    }
    numOff.push(numIdx.length);
    facOff.push(facIdx.length);
    slot.push(t.start);
  }
  const icol = spec.columns.findIndex((c) => c.term === -1);
  const fam = d.family;
  let link: number = LINK_CODE.identity;
  let linkPower = 1;
  if (fam) {
    const code = (LINK_CODE as Record<string, number>)[fam.link];
    if (code === undefined) throw new RxError('RX_MODEL', `The native scorer does not know the link "${fam.link}"`);
    link = code;
    if (fam.link === 'power') {
      linkPower = fam.linkPower ?? 1;
      if (linkPower === 0) link = LINK_CODE.log;
      else if (linkPower === 1) link = LINK_CODE.identity;
    }
  }
  const handle = scoreNative().scoreLinearCreate({
    nInputs: inputs.length,
    intercept: spec.intercept && icol >= 0 ? beta[icol]! : 0,
    numOff: Int32Array.from(numOff),
    numIdx: Int32Array.from(numIdx),
    facOff: Int32Array.from(facOff),
    facIdx: Int32Array.from(facIdx),
    facSize: Int32Array.from(facSize),
    slot: Int32Array.from(slot),
    numFn: Int32Array.from(numFn),
    beta: Float64Array.from(beta),
    offsets: Int32Array.from(offsets),
    link,
    linkPower,
  });
  return { handle, inputs };
}

function kindOf(model: unknown): string {
  const m = model as { modelKind?: string; kind?: string };
  return m.modelKind ?? m.kind ?? 'unknown';
}

/** Compiles `model` into a native real-time scorer. */
export function createScorer(model: unknown): RxScorer {
  if (typeof model !== 'object' || model === null) throw argError('a fitted tree or linear model', 'model', model);
  const c = isTreeModelLike(model) ? compileTrees(model) : isLinearModelLike(model) ? compileLinear(model) : null;
  if (!c) throw new RxError('RX_MODEL', `No native scorer for "${kindOf(model)}" models (trees: rxDTree, rxDForest, rxBTrees, rxFastTrees, rxFastForest; linear: rxLinMod, rxLogit, rxGlm)`);
  const nat = scoreNative();
  const { handle } = c;
  const width = nat.scoreInfo(handle).width;
  const out = new Float64Array(width);
  const input = new Float64Array(c.inputs.length);
  const row = nat.scoreRow;
  // bound to handle, input and out: a call converts no arguments
  const bound = nat.scoreRowBind(handle, input, out);
  const scorer: RxScorer = {
    kind: kindOf(model),
    inputs: c.inputs,
    width,
    input,
    scoreRow:
      width === 1
        ? (x: Float64Array) => {
            if (x === input) bound();
            else row(handle, x, out);
            return out[0]!;
          }
        : (x: Float64Array) => {
            if (x === input) bound();
            else row(handle, x, out);
            return out;
          },
    score:
      width === 1
        ? () => {
            bound();
            return out[0]!;
          }
        : () => {
            bound();
            return out;
          },
    scoreBatch: (x, n) => nat.scoreBatch(handle, x, n),
    scoreBatchSync: (x, n) => nat.scoreBatchSync(handle, x, n),
    dispose: () => nat.scoreFree(handle),
  };
  if (c.levels) (scorer as { levels?: string[] }).levels = c.levels;
  return scorer;
}

/**
 * Writes one chunk's input columns into column-major x (rows row0.. of n): numbers as they
 * are (missing -> NaN), factor / string columns as the index of the level in the input's
 * levels (missing / unknown -> NaN).
 */
export function fillScorerInputs(x: Float64Array, n: number, row0: number, chunk: Chunk, inputs: ScorerInput[]): void {
  const m = chunk.numRows;
  for (let j = 0; j < inputs.length; j++) {
    const inp = inputs[j]!;
    const c = chunk.columns[inp.name];
    if (!c) throw new RxError('RX_SCHEMA', `Input "${inp.name}" is not in the data`, { column: inp.name });
    let r = j * n + row0;
    if (inp.type === 'factor') {
      const lv = inp.levels ?? [];
      if (c.type === 'factor') {
        const codes = c.data as Int32Array;
        const same = c.levels === lv || (c.levels !== undefined && c.levels.length === lv.length && c.levels.every((l, k) => l === lv[k]));
        const map = same ? null : (c.levels ?? []).map((l) => { const k = lv.indexOf(l); return k < 0 ? Number.NaN : k; });
        for (let i = 0; i < m; i++) {
          const code = codes[i]!;
          x[r++] = c.valid && c.valid[i] === 0 ? Number.NaN : map ? (map[code] ?? Number.NaN) : code >= 0 && code < lv.length ? code : Number.NaN;
        }
      } else if (c.type === 'string') {
        const idx = new Map(lv.map((l, k) => [l, k]));
        const s = c.data as Array<string | null>;
        for (let i = 0; i < m; i++) x[r++] = s[i] === null ? Number.NaN : (idx.get(s[i]!) ?? Number.NaN);
      } else throw new RxError('RX_SCHEMA', `Input "${inp.name}" was a factor in training but is ${c.type} here`, { column: inp.name });
    } else {
      if (c.type === 'factor' || c.type === 'string') throw new RxError('RX_SCHEMA', `Input "${inp.name}" was numeric in training but is ${c.type} here`, { column: inp.name });
      const d = c.data as ArrayLike<number | bigint>;
      if (d instanceof Float64Array && !c.valid) {
        if (m === 1) x[r] = d[0]!;
        else x.set(d.subarray(0, m), r);
        continue;
      }
      for (let i = 0; i < m; i++) x[r++] = c.valid && c.valid[i] === 0 ? Number.NaN : Number(d[i]!);
    }
  }
}

/** Reads the scorer's inputs from a data source into a column-major Float64Array (factors -> level index, NaN = missing / unknown). */
export async function readScorerInputs(data: unknown, inputs: ScorerInput[]): Promise<{ x: Float64Array; n: number }> {
  const src = resolveSource(data, 'data');
  const schema = await src.schema();
  const names = new Set(schema.columns.map((c) => c.name));
  for (const i of inputs) if (!names.has(i.name)) throw new RxError('RX_SCHEMA', `Input "${i.name}" is not in the data`, { column: i.name });
  const chunks: Chunk[] = [];
  let n = 0;
  for await (const ch of src.chunks({ columns: inputs.map((i) => i.name) })) {
    chunks.push(ch);
    n += ch.numRows;
  }
  const x = new Float64Array(n * inputs.length);
  let row = 0;
  for (const ch of chunks) {
    fillScorerInputs(x, n, row, ch, inputs);
    row += ch.numRows;
  }
  return { x, n };
}

/** Scores one in-memory chunk with a cached native scorer (the scoring server's hot path). */
export function scoreChunkNative(model: object, chunk: Chunk): ScoreTable {
  let s = scorers.get(model);
  if (!s) {
    s = createScorer(model);
    scorers.set(model, s);
  }
  const n = chunk.numRows;
  if (n === 1) {
    // one row (real-time requests): the scorer's bound row path, nothing allocated in native code
    fillScorerInputs(s.input, 1, 0, chunk, s.inputs);
    const r = s.score();
    return nameOutputs(model, 1, s.width, typeof r === 'number' ? Float64Array.of(r) : r);
  }
  const x = new Float64Array(n * s.inputs.length);
  fillScorerInputs(x, n, 0, chunk, s.inputs);
  return nameOutputs(model, n, s.width, s.scoreBatchSync(x, n));
}

export type ScoreTable = Record<string, Float64Array | Array<string | null>>;

/** Names the engine outputs as the module comment says. */
function nameOutputs(model: unknown, n: number, width: number, values: Float64Array, labelsFromOnnx?: string[], cutoff = 0.5): ScoreTable {
  const out: ScoreTable = {};
  if (isLinearModelLike(model)) {
    out[`${model.toJSON().design.responseLabel}_Pred`] = values;
    return out;
  }
  const m = model as TreeModelLike;
  const lv = m.levels;
  if (!lv || lv.length === 0) {
    out[treeRegressionOutput(m)] = values;
    return out;
  }
  const nc = lv.length;
  // rxFastTrees (bernoulli): [p0, p1, raw score]
  if (width !== nc && !(width === 3 && nc === 2)) throw new RxError('RX_INTERNAL', `scorer width ${width} does not match ${nc} classes`);
  const label: Array<string | null> = new Array(n);
  for (let i = 0; i < n; i++) {
    if (labelsFromOnnx) {
      label[i] = labelsFromOnnx[i]!;
      continue;
    }
    let b = 0;
    if (nc === 2 && m.kind !== 'rxDTree') b = values[i * width + 1]! >= cutoff ? 1 : 0;
    else for (let k = 1; k < nc; k++) if (values[i * nc + k]! > values[i * nc + b]!) b = k;
    label[i] = lv[b]!;
  }
  const column = (k: number): Float64Array => {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = values[i * width + k]!;
    return c;
  };
  if (m.kind === 'rxFastTrees' || m.kind === 'rxFastForest') {
    out.PredictedLabel = label;
    // Score: the raw sum for boosting (rxFastTrees), the probability for rxFastForest
    out.Score = column(width === 3 ? 2 : 1);
    out.Probability = column(1);
    return out;
  }
  for (let k = 0; k < nc; k++) out[`${lv[k]}_prob`] = column(k);
  out[`${m.response.name}_Pred`] = label;
  return out;
}

/**
 * The output columns nameOutputs gives for `model`, as a per-row recipe over a row's `width`
 * engine values: each output is either value k of the row (`source[q] = k`) or the class
 * label (`source[q] = -1`, decided by `labelOf`). Used by the scoring server to write
 * responses straight from the engine's values.
 */
export interface OutputLayout {
  names: string[];
  source: number[];
  /** Class levels (classifiers). */
  levels?: string[];
  /** Index into `levels` of the class of the row at values[off .. off + width). */
  labelOf(values: Float64Array, off: number): number;
}

export function outputLayout(model: object, width: number, cutoff = 0.5): OutputLayout {
  const none = () => -1;
  if (isLinearModelLike(model)) return { names: [`${model.toJSON().design.responseLabel}_Pred`], source: [0], labelOf: none };
  if (!isTreeModelLike(model)) throw new RxError('RX_MODEL', `No native scorer for "${kindOf(model)}" models`);
  const m = model;
  const lv = m.levels;
  if (!lv || lv.length === 0) return { names: [treeRegressionOutput(m)], source: [0], labelOf: none };
  const nc = lv.length;
  if (width !== nc && !(width === 3 && nc === 2)) throw new RxError('RX_INTERNAL', `scorer width ${width} does not match ${nc} classes`);
  // the class as nameOutputs decides it
  const labelOf =
    nc === 2 && m.kind !== 'rxDTree'
      ? (v: Float64Array, off: number) => (v[off + 1]! >= cutoff ? 1 : 0)
      : (v: Float64Array, off: number) => {
          let b = 0;
          for (let k = 1; k < nc; k++) if (v[off + k]! > v[off + b]!) b = k;
          return b;
        };
  if (m.kind === 'rxFastTrees' || m.kind === 'rxFastForest')
    return { names: ['PredictedLabel', 'Score', 'Probability'], source: [-1, width === 3 ? 2 : 1, 1], levels: lv.slice(), labelOf };
  return { names: [...lv.map((l) => `${l}_prob`), `${m.response.name}_Pred`], source: [...lv.map((_, k) => k), -1], levels: lv.slice(), labelOf };
}

const onnxSessions = new WeakMap<object, Promise<unknown>>();

async function onnxScore(model: object, data: unknown, inputs: ScorerInput[]): Promise<ScoreTable> {
  const ort = await import('onnxruntime-node');
  let sp = onnxSessions.get(model) as ReturnType<typeof ort.InferenceSession.create> | undefined;
  if (!sp) {
    sp = ort.InferenceSession.create(rxToOnnx(model));
    onnxSessions.set(model, sp);
  }
  const session = await sp;
  const { x, n } = await readScorerInputs(data, inputs);
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  inputs.forEach((inp, j) => {
    const col = x.subarray(j * n, (j + 1) * n);
    if (inp.type === 'factor') {
      const lv = inp.levels ?? [];
      feeds[inp.name] = new ort.Tensor('string', Array.from(col, (c) => (Number.isNaN(c) ? '\u0000' : lv[c]!)), [n, 1]);
    } else feeds[inp.name] = new ort.Tensor('float64', Float64Array.from(col), [n, 1]);
  });
  const res = await session.run(feeds);
  if (res.probabilities) {
    const p = res.probabilities;
    const nc = Number(p.dims[1]);
    const pd = p.data as Float64Array;
    if (res.Score) {
      // binary rxFastTrees / rxFastForest: [p0, p1, Score] per row, as the native scorer lays it out
      const sc = res.Score.data as Float64Array;
      const v = new Float64Array(n * 3);
      for (let i = 0; i < n; i++) {
        v[i * 3] = pd[i * 2]!;
        v[i * 3 + 1] = pd[i * 2 + 1]!;
        v[i * 3 + 2] = sc[i]!;
      }
      return nameOutputs(model, n, 3, v, res.label!.data as string[]);
    }
    return nameOutputs(model, n, nc, pd, res.label!.data as string[]);
  }
  const first = res[session.outputNames[0]!]!;
  return nameOutputs(model, n, 1, first.data as Float64Array);
}

function linearInputs(m: LinearModelLike): ScorerInput[] {
  // the ONNX graph's inputs: every source column of the formula (factor columns as strings)
  const spec = m.toJSON().design.model;
  const out = new Map<string, ScorerInput>();
  const walk = (e: unknown): void => {
    const x = e as { type: string; name?: string; arg?: unknown; left?: unknown; right?: unknown; args?: Array<{ value: unknown }> };
    if (x.type === 'name') {
      if (!(spec.objects && Object.hasOwn(spec.objects, x.name!)) && !out.has(x.name!)) out.set(x.name!, { name: x.name!, type: 'numeric' });
    } else if (x.type === 'paren' || x.type === 'unary') walk(x.arg);
    else if (x.type === 'binary') {
      walk(x.left);
      walk(x.right);
    } else if (x.type === 'call') for (const a of x.args ?? []) walk(a.value);
  };
  for (const v of spec.variables) {
    if (v.kind === 'factor' && v.expr.type === 'name' && !v.fRange) out.set(v.expr.name, { name: v.expr.name, type: 'factor', levels: (v.levels ?? []).slice() });
    else walk(v.expr);
  }
  for (const o of spec.offsets) walk(o);
  return [...out.values()];
}

export interface RxScoreOptions {
  /** 'native' (compiled scorer, default) or 'onnx' (onnxruntime-node on rxToOnnx(model)). */
  engine?: 'native' | 'onnx';
  /** Binary classifiers other than rxDTree: P(second level) >= cutoff gives the second level (native engine). */
  cutoff?: number;
}

/** Scores a data source with the native scorer or onnxruntime-node (see the module comment for the columns). */
export async function rxScore(model: unknown, data: unknown, opts: RxScoreOptions = {}): Promise<ScoreTable> {
  if (typeof model !== 'object' || model === null) throw argError('a fitted tree or linear model', 'model', model);
  const engine = opts.engine ?? 'native';
  if (engine !== 'native' && engine !== 'onnx') throw argError("'native' or 'onnx'", 'engine', engine);
  if (engine === 'onnx') {
    const inputs = isTreeModelLike(model)
      ? model.features.map((f) => ({ name: f.name, type: f.type, ...(f.levels ? { levels: f.levels } : {}) }) as ScorerInput)
      : isLinearModelLike(model)
        ? linearInputs(model)
        : null;
    if (!inputs) throw new RxError('RX_MODEL', `No ONNX scoring for "${kindOf(model)}" models`);
    return onnxScore(model, data, inputs);
  }
  let s = scorers.get(model);
  if (!s) {
    s = createScorer(model);
    scorers.set(model, s);
  }
  const { x, n } = await readScorerInputs(data, s.inputs);
  const values = n * s.inputs.length < 50_000 ? s.scoreBatchSync(x, n) : await s.scoreBatch(x, n);
  return nameOutputs(model, n, s.width, values, undefined, opts.cutoff);
}
