// Trees on the seeded synthetic 1,000,000 x 28 nonlinear binary task (bench/gen-binary-task.mjs),
// 200,000-row test set, 2 threads, in one run:
//  - rxFastTrees (31 leaves) / rxBTrees (depth 6), 100 trees, lr 0.1 vs XGBoost 1.7 hist nthread 2
//  - rxDForest / rxFastForest 100 trees on 100,000 rows vs scikit-learn RandomForest n_jobs=2,
//    and rxDForest 100 trees (depth 10) on the full 1,000,000 rows
//  - rxDTree depth 10 vs rpart (maxdepth 10, cp 0, xval 0) on RPART_ROWS rows (default 1,000,000)
//  - batch prediction throughput: 1,000,000 rows x 100 trees
// Fit times are medians of RUNS (default 1: these are long). Comparisons skip cleanly when
// python3 + xgboost / sklearn or Rscript + rpart are absent. Every row carries the 1-minute
// load average; fits also report process CPU seconds (user + system), which a loaded machine
// distorts far less than wall time.
// TREES_SECTIONS=boost,predict,forest,dtree runs only those sections; the rows of the other
// sections are carried over from the previous bench/results/trees.json (marked carriedOver).
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureFiles } from './gen-binary-task.mjs';
import { peakRssMiB, python, row, rscript, timeIt } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function auc(y, s) {
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => s[a] - s[b]);
  let pos = 0;
  let sum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && s[idx[j]] === s[idx[i]]) j++;
    const r = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (y[idx[k]] === 1) {
      sum += r;
      pos++;
    }
    i = j;
  }
  const neg = y.length - pos;
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}

function load(files, limit) {
  const xb = readFileSync(files.xf);
  const x = new Float64Array(xb.buffer, xb.byteOffset, xb.byteLength / 8);
  const y = new Uint8Array(readFileSync(files.yf));
  const n = files.n;
  const m = Math.min(limit ?? n, n);
  const cols = {};
  for (let j = 0; j < files.p; j++) cols[`x${j}`] = x.subarray(j * n, j * n + m);
  return { cols, y: y.subarray(0, m), n: m };
}

const pyLoad = (f, m) => `
import numpy as np, time, json
def load(xf, yf, n, m):
    x = np.fromfile(xf, dtype=np.float64).reshape(28, n)[:, :m].T.copy()
    y = np.fromfile(yf, dtype=np.uint8)[:m].astype(np.float64)
    return x, y
X, y = load(${JSON.stringify(f.train.xf)}, ${JSON.stringify(f.train.yf)}, ${f.train.n}, ${m})
Xt, yt = load(${JSON.stringify(f.test.xf)}, ${JSON.stringify(f.test.yf)}, ${f.test.n}, ${f.test.n})
`;

const SECTIONS = (process.env.TREES_SECTIONS ?? 'boost,predict,forest,dtree').split(',').map((x) => x.trim());
const want = (s) => SECTIONS.includes(s);

/** Times fn like timeIt and adds the process CPU seconds of the median run. */
async function timeCpu(fn, opts) {
  const cpu = [];
  const r = await timeIt(async () => {
    const c0 = process.cpuUsage();
    const v = await fn();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    return v;
  }, opts);
  const s = [...cpu].sort((a, b) => a - b);
  return { ...r, cpuSeconds: s[s.length >> 1] };
}

export default async function (ctx) {
  const pkg = await import(pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href);
  pkg.rxOptions({ numThreads: 2 });
  const N = Number(process.env.ROWS ?? 1_000_000);
  const runs = Number(process.env.RUNS ?? 1);
  const files = { train: ensureFiles(N, 1), test: ensureFiles(200_000, 2) };
  const tr = load(files.train);
  const te = load(files.test);
  const yTr = Float64Array.from(tr.y);
  const yTe = Array.from(te.y);
  const out = [];
  let section = 'boost';
  const push = (r) => {
    const withLoad = { ...r, section, loadAvg1: +loadavg()[0].toFixed(2) };
    out.push(withLoad);
    ctx.log(JSON.stringify(withLoad));
  };
  const prevFile = join(root, 'bench', 'results', 'trees.json');
  if (SECTIONS.length < 4 && existsSync(prevFile)) {
    const prev = JSON.parse(readFileSync(prevFile, 'utf8'));
    const sectionOf = (r) => r.section ?? (/rxDTree|rpart/.test(r.name) ? 'dtree' : /Forest|sklearn RF/.test(r.name) ? 'forest' : /prediction/.test(r.name) ? 'predict' : 'boost');
    for (const r of prev.results ?? []) if (!want(sectionOf(r))) out.push({ ...r, section: sectionOf(r), carriedOver: r.carriedOver ?? prev.started });
  }
  const train = { ...tr.cols, y: yTr };
  const formula = `y ~ ${Object.keys(tr.cols).join(' + ')}`;

  // ---- boosting ----
  let ft;
  if (want('boost') || want('predict')) {
    section = 'boost';
    ft = await timeCpu(() => pkg.rxFastTrees(formula, train, { numTrees: 100, numLeaves: 31, learningRate: 0.1, exampleFraction: 1, minSplit: 20, l2Regularization: 1, minChildWeight: 1 }), { runs });
  }
  if (want('boost')) {
    const pf = await pkg.rxPredictTrees(ft.last, te.cols);
    const aucFt = auc(yTe, pf.Probability);
    push(row('rxFastTrees 100 trees 31 leaves lr 0.1', N, ft.median, { times: ft.times, cpuSeconds: ft.cpuSeconds, testAuc: aucFt, peakRssMiB: peakRssMiB() }));
    const bt = await timeCpu(() => pkg.rxBTrees(formula, train, { lossFunction: 'bernoulli', nTree: 100, maxDepth: 6, learningRate: 0.1, sampRate: 1, lambda: 1, minBucket: 1, minChildWeight: 1, initPred: 0 }), { runs });
    const pb = await pkg.rxPredictTrees(bt.last, te.cols, { type: 'prob' });
    const aucBt = auc(yTe, pb['1_prob']);
    push(row('rxBTrees 100 trees depth 6 lr 0.1', N, bt.median, { times: bt.times, cpuSeconds: bt.cpuSeconds, testAuc: aucBt, peakRssMiB: peakRssMiB() }));

    const xg = python(`${pyLoad(files, N)}
import xgboost as xgb, resource
from sklearn.metrics import roc_auc_score
res = {}
for name, kw in [("depth6", dict(max_depth=6)), ("leaves31", dict(max_depth=0, max_leaves=31, grow_policy="lossguide"))]:
    ts = []
    cs = []
    for r in range(${runs}):
        m = xgb.XGBClassifier(tree_method="hist", n_estimators=100, learning_rate=0.1, max_bin=255, n_jobs=2, nthread=2, reg_lambda=1.0, min_child_weight=1.0, **kw)
        c0 = time.process_time(); t0 = time.time(); m.fit(X, y); ts.append(time.time() - t0); cs.append(time.process_time() - c0)
    res[name] = dict(fit=sorted(ts)[len(ts)//2], cpu=sorted(cs)[len(cs)//2], auc=float(roc_auc_score(yt, m.predict_proba(Xt)[:, 1])))
res["peakRssMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))`, { timeoutMs: 3_600_000 });
    if (xg.skipped) push({ name: 'XGBoost hist', skipped: xg.skipped });
    else {
      push(row('XGBoost hist 100 trees depth 6 nthread 2', N, xg.depth6.fit, { cpuSeconds: xg.depth6.cpu, testAuc: xg.depth6.auc, peakRssMiB: xg.peakRssMiB }));
      push(row('XGBoost hist 100 trees 31 leaves nthread 2', N, xg.leaves31.fit, { cpuSeconds: xg.leaves31.cpu, testAuc: xg.leaves31.auc }));
      push({ name: 'ratio rxFastTrees / XGBoost (31 leaves)', timeRatio: ft.median / xg.leaves31.fit, cpuRatio: ft.cpuSeconds / xg.leaves31.cpu, aucDiff: aucFt - xg.leaves31.auc });
      push({ name: 'ratio rxBTrees / XGBoost (depth 6)', timeRatio: bt.median / xg.depth6.fit, cpuRatio: bt.cpuSeconds / xg.depth6.cpu, aucDiff: aucBt - xg.depth6.auc });
    }
  }

  // ---- prediction throughput ----
  if (want('predict')) {
    section = 'predict';
    const pr = await timeIt(() => pkg.rxPredictTrees(ft.last, tr.cols), { runs: 3 });
    push(row('batch prediction rxPredict 100 trees (31 leaves)', N, pr.median, { rowsPerSecond: N / pr.median, times: pr.times }));
    const pn = await timeIt(() => pkg.rxPredictTrees(ft.last, tr.cols, { engine: 'native' }), { runs: 3 });
    push(row("batch prediction rxPredict engine 'native' 100 trees (31 leaves)", N, pn.median, { rowsPerSecond: N / pn.median, times: pn.times }));
  }

  // ---- forests ----
  if (want('forest')) {
    section = 'forest';
    const NF = Math.min(100_000, N);
    const small = load(files.train, NF);
    const trainF = { ...small.cols, y: Array.from(small.y, (v) => (v ? '1' : '0')) };
    const df = await timeCpu(() => pkg.rxDForest(formula, trainF, { nTree: 100, maxDepth: 40, minSplit: 2, minBucket: 1, seed: 1, computeOobError: false }), { runs });
    const pd = await pkg.rxPredictTrees(df.last, te.cols, { type: 'prob' });
    const aucDf = auc(yTe, pd['1_prob']);
    push(row('rxDForest 100 trees full depth', NF, df.median, { cpuSeconds: df.cpuSeconds, testAuc: aucDf }));
    const ff = await timeCpu(() => pkg.rxFastForest(formula, { ...small.cols, y: Float64Array.from(small.y) }, { numTrees: 100, numLeaves: 1e6, maxDepth: 40, minSplit: 2, minBucket: 1, randomSeed: 1, computeOobError: false }), { runs });
    const pff = await pkg.rxPredictTrees(ff.last, te.cols);
    const aucFf = auc(yTe, pff.Probability);
    push(row('rxFastForest 100 trees full depth', NF, ff.median, { cpuSeconds: ff.cpuSeconds, testAuc: aucFf }));
    const rf = python(`${pyLoad(files, NF)}
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
m = RandomForestClassifier(n_estimators=100, max_features="sqrt", n_jobs=2, random_state=0)
c0 = time.process_time(); t0 = time.time(); m.fit(X, y); t = time.time() - t0; c = time.process_time() - c0
print(json.dumps(dict(fit=t, cpu=c, auc=float(roc_auc_score(yt, m.predict_proba(Xt)[:, 1])))))`);
    if (rf.skipped) push({ name: 'scikit-learn RandomForest', skipped: rf.skipped });
    else {
      push(row('scikit-learn RandomForest 100 trees n_jobs 2', NF, rf.fit, { cpuSeconds: rf.cpu, testAuc: rf.auc }));
      push({ name: 'ratio rxDForest / sklearn RF', timeRatio: df.median / rf.fit, cpuRatio: df.cpuSeconds / rf.cpu, aucDiff: aucDf - rf.auc });
      push({ name: 'ratio rxFastForest / sklearn RF', timeRatio: ff.median / rf.fit, cpuRatio: ff.cpuSeconds / rf.cpu, aucDiff: aucFf - rf.auc });
    }
    const dfBig = await timeCpu(() => pkg.rxDForest(formula, train, { nTree: 100, maxDepth: 10, seed: 1, method: 'anova', computeOobError: false }), { runs: 1 });
    push(row('rxDForest 100 trees depth 10 (anova on 0/1)', N, dfBig.median, { cpuSeconds: dfBig.cpuSeconds, peakRssMiB: peakRssMiB() }));
  }

  // ---- single tree ----
  if (want('dtree')) {
    section = 'dtree';
    const NR = Number(process.env.RPART_ROWS ?? N);
    const dtData = load(files.train, NR);
    const dtY = Array.from(dtData.y, (v) => (v ? '1' : '0'));
    const dt = await timeCpu(() => pkg.rxDTree(formula, { ...dtData.cols, y: dtY }, { maxDepth: 10, cp: 0, xVal: 0, maxNumBins: 1001 }), { runs });
    push(row('rxDTree depth 10 cp 0 xVal 0', NR, dt.median, { cpuSeconds: dt.cpuSeconds, nodes: dt.last.trees.feature.length }));
    // the default 2-fold cross-validation (folds grown in parallel)
    const dtx = await timeCpu(() => pkg.rxDTree(formula, { ...dtData.cols, y: dtY }, { maxDepth: 10, cp: 0, xVal: 2, maxNumBins: 1001 }), { runs });
    push(row('rxDTree depth 10 cp 0 xVal 2', NR, dtx.median, { cpuSeconds: dtx.cpuSeconds }));
    const rp = rscript(`library(rpart); n <- ${files.train.n}; m <- ${NR}
x <- matrix(readBin(${JSON.stringify(files.train.xf)}, "double", n * 28), nrow = n)[1:m, ]
y <- readBin(${JSON.stringify(files.train.yf)}, "raw", n)[1:m]
d <- data.frame(x); d$y <- factor(as.integer(y))
t0 <- proc.time()
f <- rpart(y ~ ., data = d, method = "class", control = rpart.control(maxdepth = 10, cp = 0, xval = 0, maxcompete = 0, maxsurrogate = 0))
t1 <- proc.time() - t0
cat(sprintf('{"fit": %f, "cpu": %f, "nodes": %d}\\n', t1[["elapsed"]], t1[["user.self"]] + t1[["sys.self"]], nrow(f$frame)))`);
    if (rp.skipped) push({ name: 'rpart', skipped: rp.skipped });
    else {
      push(row('rpart maxdepth 10 cp 0 xval 0 (no surrogates)', NR, rp.fit, { cpuSeconds: rp.cpu, nodes: rp.nodes }));
      push({ name: 'ratio rxDTree / rpart', timeRatio: dt.median / rp.fit, cpuRatio: dt.cpuSeconds / rp.cpu });
      push({ name: 'ratio rxDTree xVal 2 / rpart xval 0', timeRatio: dtx.median / rp.fit, cpuRatio: dtx.cpuSeconds / rp.cpu });
    }
  }
  return out;
}
