// MicrosoftML learners on UCI adult (32,561 rows; 4 numeric + 4 factor predictors = 35 model-matrix
// columns, income > 50K as the binary label), read with RxTextData. One run each (shared machine):
// rxLogisticRegression (L-BFGS / OWL-QN, defaults l1 = l2 = 1, optTol 1e-7), rxFastLinear (SDCA,
// defaults), rxNeuralNet (100 hidden nodes, 10 epochs, AdaDelta), rxOneClassSvm (rbf, first 3,000
// rows). Each row reports seconds, training accuracy (or the outlier fraction) and, for the logistic
// regression, scikit-learn's LogisticRegression time on the same design (C = 1 / l2, L2 only).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { peakRssMiB, python, row, timeIt } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = (p) => import(pathToFileURL(join(here, '..', 'dist', 'lib', p)).href);
const file = '/work/shared/data/uci_adult/adult_train.csv';

export default async function mlBench() {
  const { RxTextData } = await dist('data/text.js');
  const { RxMemoryData } = await dist('data/memory.js');
  const ml = await dist('ml/index.js');
  const { rxPredict } = await dist('predict.js');
  const src = new RxTextData(file, { stringsAsFactors: true });
  // materialise once so the timings are of the learners, not of CSV parsing
  const cols = {};
  for await (const c of src.chunks()) {
    for (const [k, v] of Object.entries(c.columns)) {
      cols[k] ??= [];
      for (let i = 0; i < c.numRows; i++) cols[k].push(v.valid && v.valid[i] === 0 ? null : v.type === 'factor' ? v.levels[v.data[i]] : v.data[i]);
    }
  }
  cols.y = cols.income.map((s) => (String(s).includes('>') ? 1 : 0));
  const data = new RxMemoryData(cols);
  const n = cols.y.length;
  const f = 'y ~ age + education_num + hours_per_week + capital_gain + sex + race + occupation + marital_status';
  const acc = async (m) => {
    const p = await rxPredict(m, data);
    // over the scored rows (rows with a missing predictor, e.g. occupation '?', score NA)
    let hit = 0;
    let scored = 0;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(p.PredictedLabel[i])) continue;
      scored++;
      if (p.PredictedLabel[i] === cols.y[i]) hit++;
    }
    return +(hit / scored).toFixed(4);
  };
  const rows = [];
  const lr = await timeIt(() => ml.rxLogisticRegression(f, data, { l1Weight: 0, l2Weight: 1 }), { runs: 1 });
  const sk = python(`
import json, time, pandas as pd, numpy as np
from sklearn.linear_model import LogisticRegression
d = pd.read_csv('${file}', skipinitialspace=True)
y = d.income.str.contains('>').astype(int)
X = pd.get_dummies(d[['age','education_num','hours_per_week','capital_gain','sex','race','occupation','marital_status']], drop_first=True).to_numpy(float)
X = X / np.abs(X).max(axis=0)
t = time.perf_counter(); m = LogisticRegression(C=1.0, max_iter=10000, tol=1e-7).fit(X, y); print(json.dumps({'seconds': time.perf_counter() - t, 'accuracy': m.score(X, y)}))`);
  rows.push(row('rxLogisticRegression binary, l2 only', n, lr.median, { iterations: lr.last.data.stats.iterations, accuracy: await acc(lr.last), sklearnSeconds: sk.seconds ?? null, sklearnAccuracy: sk.accuracy ?? null, sklearn: sk.skipped ?? 'LogisticRegression(lbfgs) on the min-max scaled one-hot design, all rows (? as a level)' }));
  const l1 = await timeIt(() => ml.rxLogisticRegression(f, data), { runs: 1 });
  rows.push(row('rxLogisticRegression binary, l1 = l2 = 1 (OWL-QN)', n, l1.median, { iterations: l1.last.data.stats.iterations, accuracy: await acc(l1.last) }));
  const fl = await timeIt(() => ml.rxFastLinear(f, data), { runs: 1 });
  rows.push(row('rxFastLinear binary logLoss (SDCA, defaults)', n, fl.median, { epochs: fl.last.data.stats.epochs, accuracy: await acc(fl.last) }));
  const nn = await timeIt(() => ml.rxNeuralNet(f, data, { numIterations: 10, optimizer: { kind: 'adaptive' } }), { runs: 1 });
  rows.push(row('rxNeuralNet binary, 100 hidden, 10 epochs, AdaDelta', n, nn.median, { accuracy: await acc(nn.last) }));
  const m = 3000;
  const small = {};
  for (const k of ['age', 'education_num', 'hours_per_week']) small[k] = cols[k].slice(0, m);
  const oc = await timeIt(() => ml.rxOneClassSvm('~ age + education_num + hours_per_week', small), { runs: 1 });
  const sc = (await rxPredict(oc.last, small)).Score;
  rows.push(row('rxOneClassSvm rbf, nu 0.1, 3 predictors', m, oc.median, { supportVectors: oc.last.data.stats.supportVectors, outlierFraction: +(sc.filter((v) => v < 0).length / m).toFixed(4) }));
  for (const r of rows) r.peakRssMiB = peakRssMiB();
  return rows;
}
