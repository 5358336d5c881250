/**
 * rxPredict(model, data, { engine: 'onnx' }) for the MicrosoftML learners: onnxruntime-node on
 * rxToOnnx(model), chunk by chunk, with the same output columns as the JavaScript engine
 * (rows with a missing value or unknown level score NaN and get no PredictedLabel).
 */
import type { Chunk } from '../data/types.js';
import { RxError } from '../errors.js';
import { rxToOnnx } from '../onnx/index.js';
import type { ScoreColumns } from '../scoring/registry.js';

type Ort = typeof import('onnxruntime-node');
type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

const sessions = new WeakMap<object, Promise<{ ort: Ort; session: Session }>>();

function sessionOf(model: object): Promise<{ ort: Ort; session: Session }> {
  let s = sessions.get(model);
  if (!s) {
    s = (async () => {
      const ort = await import('onnxruntime-node');
      return { ort, session: await ort.InferenceSession.create(rxToOnnx(model)) };
    })();
    sessions.set(model, s);
  }
  return s;
}

/** Scores one chunk with onnxruntime-node; every graph output becomes a column. */
export async function onnxScoreChunk(model: object, chunk: Chunk): Promise<ScoreColumns> {
  const { ort, session } = await sessionOf(model);
  const n = chunk.numRows;
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  for (const name of session.inputNames) {
    const c = chunk.columns[name];
    if (!c) throw new RxError('RX_SCHEMA', `The data has no column '${name}' (an input of the model)`, { column: name });
    const miss = (i: number) => (c.valid ? c.valid[i] === 0 : false);
    if (c.type === 'factor' || c.type === 'string') {
      const d = c.data as ArrayLike<number> | Array<string | null>;
      const vals = Array.from({ length: n }, (_, i) => (miss(i) ? '\u0000' : c.type === 'factor' ? c.levels![(d as ArrayLike<number>)[i]!]! : ((d as Array<string | null>)[i] ?? '\u0000')));
      feeds[name] = new ort.Tensor('string', vals, [n, 1]);
    } else {
      const d = c.data as ArrayLike<number>;
      feeds[name] = new ort.Tensor('float64', Float64Array.from({ length: n }, (_, i) => (miss(i) ? Number.NaN : Number(d[i]!))), [n, 1]);
    }
  }
  const res = await session.run(feeds);
  const out: ScoreColumns = {};
  const first = res[session.outputNames.find((o) => o !== 'PredictedLabel') ?? session.outputNames[0]!]!.data as Float64Array;
  for (const name of session.outputNames) {
    const t = res[name]!;
    if (name === 'PredictedLabel') {
      // no label where the scores are NaN (missing values), as the JavaScript engine
      if (t.type === 'string') out[name] = Array.from(t.data as string[], (v, i) => (Number.isNaN(first[i]!) ? null : v));
      else out[name] = Float64Array.from(t.data as Float64Array, (v, i) => (Number.isNaN(first[i]!) ? Number.NaN : v));
    } else out[name] = Float64Array.from(t.data as Float64Array);
  }
  return out;
}
