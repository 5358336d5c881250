/**
 * rxGlm / rxLogit: iteratively reweighted least squares, one chunked pass per iteration.
 * Pass k evaluates eta = X beta_k (+ offset), accumulates X'WX and X'Wz for the next
 * step together with the deviance at beta_k, and finalize() solves for beta_{k+1} and
 * declares the next pass, exactly following R's glm.fit (so coefficients, standard
 * errors, deviance, dispersion and AIC agree with R): convergence when
 * |dev - dev_old| / (|dev| + 0.1) < objectiveFunctionTolerance; the covariance uses the
 * weights of the last iteration, as R does.
 */
import { type AccumulatorDef, type PassResult, registerAccumulator } from '../compute/pema.js';
import { runAccumulator } from '../compute/run.js';
import { randomUUID } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { RxLocalSeq } from '../compute/context.js';
import { RxLocalParallel } from '../compute/parallel.js';
import { resolveRunOptions } from '../compute/run.js';
import type { Chunk, DataSource } from '../data/types.js';
import { RxError } from '../errors.js';
import { dbinomLog, dpoisLog, lgamma, pnorm, pt } from '../stats/distributions.js';
import { argError } from '../validate.js';
import { type DesignChunk, type DesignSpec, forEachDesignBlock, transientChunkSource } from './design.js';
import { type FamilySpec, familySpec, makeFamily } from './family.js';
import { type RxLinModOptions, modelRunOptions, prepareModel } from './linmod.js';
import { GlmResult } from './results.js';
import { applyPweights } from './sandwich.js';
import { hugeBuffer, irlsLogit } from '../native/linalg.js';
import { accumulateXtwx, reportedConditionNumber, sweepSolve } from './solve.js';

export interface GlmSpec {
  design: DesignSpec;
  family: FamilySpec;
  /** Coefficients at which this pass evaluates (null: R's mustart initialisation). */
  beta: number[] | null;
  /** Coefficients of the previous pass (for the working weights R's dispersion uses). */
  prevBeta: number[] | null;
  iter: number;
  maxIterations: number;
  tol: number;
  devOld: number;
  /** Solution of the previous pass: inverse of X'WX at prevBeta. */
  prevInverse: number[] | null;
  prevAliased: number[] | null;
  prevRank: number;
  prevKappa: number;
  wtdmu: number;
  binary: boolean;
  /** Identifies the fit's model-matrix cache (see runCache). */
  cacheKey: string;
  /** Model-matrix cache budget per thread in bytes (0: no cache). */
  cacheBytes: number;
  /**
   * This pass only evaluates the deviance (and the other pass sums) at beta, without X'WX:
   * taken when the last relative deviance change predicts convergence (Newton converges
   * quadratically: the next change is about the square of the last). If the pass does not
   * converge after all, the next pass is the full pass at the same beta.
   */
  devOnly?: boolean;
  /**
   * Null-deviance passes, after the fit has converged, when R's null model is not the
   * constant weighted mean: with an offset and an intercept R refits the intercept-only
   * model with the offset (glm.fit's second call); without an intercept the null model is
   * mu = linkinv(offset). `fit` holds the fit's result meanwhile; `a` is the null model's
   * intercept at which this pass evaluates.
   */
  nullFit?: { fit: Omit<GlmRaw, 'spec'>; a: number; iter: number; devOld: number; intercept: boolean };
}

export interface GlmState {
  xtx: Float64Array;
  xty: Float64Array;
  acc: Float64Array;
  /** [deviance, nullDev, sum w y, sum w, pearson(prev weights), aicSum, sumWlogY, sumW(-log mu - y/mu), nPos, yMin, yMax] */
  s: Float64Array;
  nMissing: number;
  /** Chunks processed so far in this pass by this thread (keys the model-matrix cache). */
  seq: number;
  /** Null-deviance pass: [deviance at a, sum W, sum W z] of the intercept-only model. */
  nul: Float64Array;
}

export interface GlmRaw {
  spec: GlmSpec;
  state: GlmState;
  beta: number[];
  inverse: number[];
  aliased: number[];
  rank: number;
  kappa: number;
  converged: boolean;
}

/**
 * Model-matrix cache across IRLS passes. Building the model matrix costs more than the
 * IRLS arithmetic, and the matrix does not change between passes, so every thread that
 * processes chunks (the main thread for RxLocalSeq, each worker for RxLocalParallel)
 * keeps the design blocks of its chunks while their total size stays within the run's
 * budget (GlmSpec.cacheBytes, from the modelMatrixCacheBytes option, default 1 GiB in
 * all, split between workers). Chunks are identified by their order within the pass in
 * that thread plus their startRow / numRows; anything else (a chunk beyond the budget, a
 * new worker) is rebuilt from the data. The main thread drops its cache when the fit
 * ends; a worker drops a run's cache when a new run starts there or after 10 s unused.
 */
interface CachedChunk {
  startRow: number;
  numRows: number;
  /** The array the blocks' X are views of (returned to the slab pool when the fit ends). */
  store?: ArrayBuffer;
  blocks: Array<{ d: DesignChunk; startRow: number }>;
}

interface RunCache {
  key: string;
  budget: number;
  bytes: number;
  /** A chunk did not fit: the cache is partial. */
  overflow: boolean;
  chunks: Map<number, CachedChunk>;
  /** Set by the replay source once a whole pass is cached (main thread only). */
  complete: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

const designCaches = new Map<string, RunCache>();

/**
 * Model-matrix memory of finished fits in this thread, reused by the next fit for a few
 * seconds (then released): first-touching fresh memory (page faults, zeroing) costs more
 * than an IRLS pass over it, and fits often come in series on the same data.
 */
const slabPool: ArrayBuffer[] = [];
let slabTimer: ReturnType<typeof setTimeout> | undefined;
const SLAB_IDLE_MS = 10_000;

function takeSlab(bytes: number): ArrayBuffer {
  let best = -1;
  for (let i = 0; i < slabPool.length; i++) {
    const b = slabPool[i]!;
    if (b.byteLength >= bytes && b.byteLength <= 2 * bytes && (best < 0 || b.byteLength < slabPool[best]!.byteLength)) best = i;
  }
  if (best >= 0) return slabPool.splice(best, 1)[0]!;
  return hugeBuffer(bytes);
}

function releaseSlabs(c: RunCache | undefined): void {
  if (!c) return;
  for (const m of c.chunks.values()) if (m.store) slabPool.push(m.store);
  if (slabTimer) clearTimeout(slabTimer);
  slabTimer = setTimeout(() => {
    slabPool.length = 0;
  }, SLAB_IDLE_MS);
  slabTimer.unref?.();
}
/** Chunks with no data, yielded by the replay source when the whole design is cached. */
const replayChunks = new WeakSet<Chunk>();
const WORKER_CACHE_IDLE_MS = 10_000;

function runCache(spec: GlmSpec): RunCache | undefined {
  if (!(spec.cacheBytes > 0)) return undefined;
  let c = designCaches.get(spec.cacheKey);
  if (!c) {
    if (!isMainThread) {
      // a worker serves one run at a time: drop earlier runs' caches
      for (const [k, old] of designCaches) {
        if (old.timer) clearTimeout(old.timer);
        designCaches.delete(k);
      }
    }
    c = { key: spec.cacheKey, budget: spec.cacheBytes, bytes: 0, overflow: false, chunks: new Map(), complete: false };
    designCaches.set(spec.cacheKey, c);
  }
  if (!isMainThread) {
    if (c.timer) clearTimeout(c.timer);
    const key = c.key;
    c.timer = setTimeout(() => designCaches.delete(key), WORKER_CACHE_IDLE_MS);
    c.timer.unref?.();
  }
  return c;
}

function designBytes(d: DesignChunk): number {
  return 8 * (d.X.length + d.y.length + (d.w?.length ?? 0) + (d.offset?.length ?? 0)) + 4 * d.rowIndex.length;
}

/** A design block that owns its arrays (X is otherwise the shared block buffer). */
function ownDesign(d: DesignChunk): DesignChunk {
  return { ...d, X: d.X.slice() };
}

/** Per-block scratch for eta / z / working weights. */
let blockBuf = new Float64Array(0);
function scratch3(n: number): [Float64Array, Float64Array, Float64Array] {
  if (blockBuf.length < 3 * n) blockBuf = new Float64Array(3 * n);
  return [blockBuf.subarray(0, n), blockBuf.subarray(n, 2 * n), blockBuf.subarray(2 * n, 3 * n)];
}

/** eta = X beta (+ offset) into `eta`, column by column over the block. */
function etaInto(eta: Float64Array, X: Float64Array, n: number, p: number, beta: number[], off: Float64Array | null): void {
  if (off) eta.set(off);
  else eta.fill(0);
  for (let j = 0; j < p; j++) {
    const b = beta[j]!;
    if (b === 0 || Number.isNaN(b)) continue;
    const col = X.subarray(j * n, (j + 1) * n);
    for (let i = 0; i < n; i++) eta[i]! += b * col[i]!;
  }
}

const DBL_EPS = 2.220446049250313e-16;

/**
 * One IRLS block for the binomial family with the logit link (rxLogit): eta, mu, d mu/d eta,
 * working response z and weights, deviance, null deviance and the AIC log-likelihood in
 * one loop, with R's binomial()/make.link("logit") formulas (eta clamped at +-30,
 * mu.eta floored at eps). The response is 0/1, so the unit deviance is -2 log of the
 * fitted probability of the observed class.
 */
function logitBlock(spec: GlmSpec, state: GlmState, d: DesignChunk, startRow: number, eta: Float64Array, z: Float64Array, w: Float64Array): void {
  const n = d.n;
  const y = d.y;
  const pwA = d.w;
  const off = d.offset;
  const s = state.s;
  const nullDev = !Number.isNaN(spec.wtdmu);
  const l1 = nullDev ? Math.log(spec.wtdmu) : 0;
  const l0 = nullDev ? Math.log1p(-spec.wtdmu) : 0;
  let dev = 0;
  let dev0 = 0;
  let swy = 0;
  let sw = 0;
  let npos = 0;
  let aic = 0;
  let ymin = s[9]!;
  let ymax = s[10]!;
  for (let i = 0; i < n; i++) {
    const pw = pwA ? pwA[i]! : 1;
    const yi = y[i]!;
    if (yi !== 0 && yi !== 1) throw new RxError('RX_MODEL', `rxLogit: the response must be 0/1, TRUE/FALSE or a 2-level factor; found ${yi}`, { row: startRow + d.rowIndex[i]! + 1 });
    if (yi < ymin) ymin = yi;
    if (yi > ymax) ymax = yi;
    const e = eta[i]!;
    // t = exp(eta) clamped as R's logit linkinv; o = exp(-|eta|) for mu.eta
    let t: number;
    let o: number;
    if (e < -30) {
      t = DBL_EPS;
      o = Math.exp(e);
    } else if (e > 30) {
      t = 1 / DBL_EPS;
      o = Math.exp(-e);
    } else {
      t = Math.exp(e);
      o = e < 0 ? t : 1 / t;
    }
    const mu = t / (1 + t);
    const q = 1 + o;
    let me = o / (q * q);
    if (me < DBL_EPS) me = DBL_EPS;
    const v = mu * (1 - mu);
    z[i] = e - (off ? off[i]! : 0) + (yi - mu) / me;
    if (pw > 0) {
      w[i] = (pw * me * me) / v;
      dev -= 2 * pw * (yi === 1 ? Math.log(mu) : Math.log(1 - mu));
      if (nullDev) dev0 -= 2 * pw * (yi === 1 ? l1 : l0);
      swy += pw * yi;
      sw += pw;
      npos++;
      aic += pw === 1 ? dbinomLog(yi, 1, mu) : dbinomLog(Math.round(pw * yi), Math.round(pw), mu);
    } else w[i] = 0;
  }
  s[0]! += dev;
  s[1]! += dev0;
  s[2]! += swy;
  s[3]! += sw;
  s[5]! += aic;
  s[8]! += npos;
  s[9] = ymin;
  s[10] = ymax;
}

/** One IRLS block for any family (and the first pass, from R's mustart). */
function genericBlock(spec: GlmSpec, state: GlmState, d: DesignChunk, startRow: number, eta: Float64Array, z: Float64Array, w: Float64Array): void {
  const fam = makeFamily(spec.family);
  const n = d.n;
  const p = d.p;
  const y = d.y;
  const mu = new Float64Array(n);
  if (spec.beta) {
    etaInto(eta, d.X, n, p, spec.beta, d.offset);
    for (let i = 0; i < n; i++) mu[i] = fam.linkinv(eta[i]!);
  } else {
    for (let i = 0; i < n; i++) {
      mu[i] = fam.muStart(y[i]!, d.w ? d.w[i]! : 1);
      eta[i] = fam.linkfun(mu[i]!);
    }
  }
  // the Pearson statistic with the previous weights is only needed for an estimated dispersion
  const fixed = spec.family.family === 'binomial' || spec.family.family === 'poisson';
  let etaPrev: Float64Array | null = null;
  if (spec.prevBeta && !fixed) {
    etaPrev = new Float64Array(n);
    etaInto(etaPrev, d.X, n, p, spec.prevBeta, d.offset);
  }
  const s = state.s;
  for (let i = 0; i < n; i++) {
    const pw = d.w ? d.w[i]! : 1;
    const yi = y[i]!;
    if (spec.binary && yi !== 0 && yi !== 1) throw new RxError('RX_MODEL', `rxLogit: the response must be 0/1, TRUE/FALSE or a 2-level factor; found ${yi}`, { row: startRow + d.rowIndex[i]! + 1 });
    s[9] = Math.min(s[9]!, yi);
    s[10] = Math.max(s[10]!, yi);
    const me = fam.muEta(eta[i]!);
    const v = fam.variance(mu[i]!);
    const off = d.offset ? d.offset[i]! : 0;
    z[i] = eta[i]! - off + (yi - mu[i]!) / me;
    w[i] = pw > 0 ? (pw * me * me) / v : 0;
    if (pw > 0) {
      s[0]! += fam.devResid(yi, mu[i]!, pw);
      s[2]! += pw * yi;
      s[3]! += pw;
      s[8]! += 1;
      if (!Number.isNaN(spec.wtdmu)) s[1]! += fam.devResid(yi, spec.wtdmu, pw);
      if (etaPrev) {
        const mp = fam.linkinv(etaPrev[i]!);
        const mep = fam.muEta(etaPrev[i]!);
        const wp = (pw * mep * mep) / fam.variance(mp);
        const r = (yi - mu[i]!) / me;
        s[4]! += wp * r * r;
      }
      switch (spec.family.family) {
        case 'binomial':
          s[5]! += dbinomLog(Math.round(pw * yi), Math.round(pw), mu[i]!);
          break;
        case 'poisson':
          s[5]! += pw * dpoisLog(yi, mu[i]!);
          break;
        default:
          break;
      }
      if (yi > 0) s[6]! += pw * Math.log(yi);
      s[7]! += pw * (-Math.log(mu[i]!) - yi / mu[i]!);
    }
  }
}

/** spec.beta as a Float64Array (cached per spec object). */
const betaF64 = new WeakMap<GlmSpec, Float64Array>();

/**
 * The fused native IRLS pass (eta, mu, working weights and response, deviance and X'WX in
 * one multithreaded kernel) for the binomial-logit model without prior weights (with prior
 * weights the AIC needs R's dbinom per row, computed by logitBlock).
 */
function nativeLogitBlock(spec: GlmSpec, state: GlmState, d: DesignChunk, startRow: number): void {
  let beta: Float64Array | null = null;
  if (spec.beta) {
    beta = betaF64.get(spec) ?? null;
    if (!beta) {
      beta = Float64Array.from(spec.beta);
      betaF64.set(spec, beta);
    }
  }
  const bad = irlsLogit(d.X, d.n, d.p, d.y, null, d.offset, beta, spec.wtdmu, state.xtx, state.xty, state.acc, state.s, !spec.devOnly);
  if (bad >= 0) throw new RxError('RX_MODEL', `rxLogit: the response must be 0/1, TRUE/FALSE or a 2-level factor; found ${d.y[bad]}`, { row: startRow + d.rowIndex[bad]! + 1 });
}

/** Null-deviance pass over one block: deviance (and IRLS sums) of the null model at nullFit.a. */
function nullBlock(spec: GlmSpec, state: GlmState, d: DesignChunk): void {
  const nf = spec.nullFit!;
  const fam = makeFamily(spec.family);
  const nul = state.nul;
  // first pass of the refit: R starts it from the fit's fitted values (mustart)
  let etaFit: Float64Array | null = null;
  if (nf.intercept && Number.isNaN(nf.a)) {
    etaFit = new Float64Array(d.n);
    etaInto(etaFit, d.X, d.n, d.p, nf.fit.beta, d.offset);
  }
  for (let i = 0; i < d.n; i++) {
    const pw = d.w ? d.w[i]! : 1;
    if (!(pw > 0)) continue;
    const off = d.offset ? d.offset[i]! : 0;
    const eta = etaFit ? etaFit[i]! : nf.intercept ? nf.a + off : off;
    const mu = fam.linkinv(eta);
    const yi = d.y[i]!;
    nul[0]! += fam.devResid(yi, mu, pw);
    if (nf.intercept) {
      const me = fam.muEta(eta);
      const w = (pw * me * me) / fam.variance(mu);
      nul[1]! += w;
      nul[2]! += w * (eta - off + (yi - mu) / me);
    }
  }
}

/** Evaluates one design block at spec.beta and accumulates X'WX, X'Wz and the pass sums. */
function glmBlock(spec: GlmSpec, state: GlmState, d: DesignChunk, startRow: number): void {
  if (spec.nullFit) {
    if (d.n > 0) nullBlock(spec, state, d);
    return;
  }
  state.nMissing += d.nMissing;
  const n = d.n;
  if (n === 0) return;
  if (spec.family.family === 'binomial' && spec.family.link === 'logit' && d.w === null) {
    nativeLogitBlock(spec, state, d, startRow);
    return;
  }
  const [eta, z, w] = scratch3(n);
  if (spec.beta && spec.family.family === 'binomial' && spec.family.link === 'logit') {
    etaInto(eta, d.X, n, d.p, spec.beta, d.offset);
    logitBlock(spec, state, d, startRow, eta, z, w);
  } else genericBlock(spec, state, d, startRow, eta, z, w);
  if (!spec.devOnly) accumulateXtwx(d.X, n, d.p, w, z, state.xtx, state.xty, state.acc);
}

export const glmAccumulator: AccumulatorDef<GlmSpec, GlmState, GlmRaw> = registerAccumulator({
  name: 'rxGlm',
  columns: (spec) => spec.design.columns,
  init: (spec) => {
    const p = spec.design.xCols.length;
    const s = new Float64Array(11);
    s[9] = Number.POSITIVE_INFINITY;
    s[10] = Number.NEGATIVE_INFINITY;
    return { xtx: new Float64Array(p * p), xty: new Float64Array(p), acc: new Float64Array(3), s, nMissing: 0, seq: 0, nul: new Float64Array(3) };
  },
  process(spec, state, chunk: Chunk) {
    const seq = state.seq++;
    const cache = runCache(spec);
    const hit = cache?.chunks.get(seq);
    if (hit && hit.startRow === chunk.startRow && hit.numRows === chunk.numRows) {
      for (const b of hit.blocks) glmBlock(spec, state, b.d, b.startRow);
      return state;
    }
    if (replayChunks.has(chunk)) throw new RxError('RX_INTERNAL', `rxGlm: the cached model matrix of chunk ${seq + 1} is missing`);
    const keep: CachedChunk | null = cache && !cache.overflow ? { startRow: chunk.startRow, numRows: chunk.numRows, blocks: [] } : null;
    let bytes = 0;
    // while the cache has room, the chunk's blocks are built into one huge-page backed
    // array (few page faults) and kept as they are
    const own = keep !== null && cache!.bytes + 8 * chunk.numRows * spec.design.xCols.length <= cache!.budget;
    const slab = own ? takeSlab(8 * chunk.numRows * spec.design.xCols.length) : undefined;
    const store = slab ? new Float64Array(slab) : undefined;
    if (keep && slab) keep.store = slab;
    forEachDesignBlock(
      spec.design,
      chunk,
      (d, block) => {
        glmBlock(spec, state, d, block.startRow);
        if (keep) {
          bytes += designBytes(d);
          if (cache!.bytes + bytes <= cache!.budget) keep.blocks.push({ d: own ? d : ownDesign(d), startRow: block.startRow });
        }
      },
      store ? { store } : {},
    );
    if (keep && cache) {
      if (cache.bytes + bytes <= cache.budget) {
        cache.bytes += bytes;
        cache.chunks.set(seq, keep);
      } else cache.overflow = true;
    }
    return state;
  },
  merge(spec, a, b) {
    const p = spec.design.xCols.length;
    for (let i = 0; i < p * p; i++) a.xtx[i]! += b.xtx[i]!;
    for (let i = 0; i < p; i++) a.xty[i]! += b.xty[i]!;
    for (let i = 0; i < 3; i++) a.acc[i]! += b.acc[i]!;
    for (let i = 0; i < 9; i++) a.s[i]! += b.s[i]!;
    a.s[9] = Math.min(a.s[9]!, b.s[9]!);
    a.s[10] = Math.max(a.s[10]!, b.s[10]!);
    a.nMissing += b.nMissing;
    for (let i = 0; i < 3; i++) a.nul[i]! += b.nul[i]!;
    return a;
  },
  finalize(spec, state): PassResult<GlmSpec, GlmRaw> {
    if (spec.nullFit) return afterNullPass(spec, state);
    const p = spec.design.xCols.length;
    if (state.s[8] === 0) throw new RxError('RX_MODEL', `${spec.binary ? 'rxLogit' : 'rxGlm'}: no valid observations for ${spec.design.formula}`);
    if (spec.binary && state.s[9] === state.s[10])
      throw new RxError('RX_MODEL', `rxLogit: the response '${spec.design.responseLabel}' has a single class (all ${state.s[9]}); a logistic model needs both outcomes`, { column: spec.design.responseLabel });
    const dev = state.s[0]!;
    const wtdmu = !Number.isNaN(spec.wtdmu) ? spec.wtdmu : state.s[2]! / state.s[3]!;
    // Convergence as R's glm.fit (relative deviance change); the result is the iterate that
    // met the rule with the covariance of the weights that produced it, as R reports.
    // (RevoScaleR reports the Newton step after it, which moves printed 9th digits: see
    // test/models/revoscaler.test.ts; R parity at 1e-8 takes precedence.)
    const rel = Math.abs(dev - spec.devOld) / (Math.abs(dev) + 0.1);
    if (spec.beta && spec.prevInverse && rel < spec.tol) {
      return fitDone(spec, { state, beta: spec.beta, inverse: spec.prevInverse, aliased: spec.prevAliased!, rank: spec.prevRank, kappa: spec.prevKappa, converged: true });
    }
    // not converged after a deviance-only pass: the full pass at the same coefficients
    if (spec.devOnly) return { done: false, spec: { ...spec, devOnly: false } };
    const sol = sweepSolve(state.xtx, state.xty, p, 1e-7, state.acc[1]!);
    const beta = Array.from(sol.coef, (b, j) => (sol.aliased[j] ? 0 : b));
    const kappa = reportedConditionNumber(state.xtx, sol.inverse, p, sol.aliased, spec.design.intercept ? 0 : -1);
    if (spec.iter >= spec.maxIterations) {
      // out of iterations: report the last evaluated coefficients
      return fitDone(spec, {
        state,
        beta: spec.beta ?? beta,
        inverse: spec.prevInverse ?? Array.from(sol.inverse),
        aliased: spec.prevAliased ?? Array.from(sol.aliased),
        rank: spec.prevInverse ? spec.prevRank : sol.rank,
        kappa,
        converged: false,
      });
    }
    return {
      done: false,
      spec: {
        ...spec,
        prevBeta: spec.beta,
        beta,
        iter: spec.iter + 1,
        devOld: dev,
        prevInverse: Array.from(sol.inverse),
        prevAliased: Array.from(sol.aliased),
        prevRank: sol.rank,
        prevKappa: kappa,
        wtdmu,
        devOnly: spec.beta !== null && spec.prevInverse !== null && rel * rel < spec.tol && spec.iter + 1 < spec.maxIterations,
      },
    };
  },
});

/**
 * The fit has ended: done, unless R's null model needs passes of its own (an offset with
 * an intercept: intercept-only refit with the offset, started at the fit's intercept; no
 * intercept: mu = linkinv(offset)).
 */
function fitDone(spec: GlmSpec, fit: Omit<GlmRaw, 'spec'>): PassResult<GlmSpec, GlmRaw> {
  const hasOffset = spec.design.model.offsets.length > 0;
  const intercept = spec.design.intercept;
  if (intercept && !hasOffset) return { done: true, result: { spec, ...fit } };
  // a = NaN: the refit's first pass evaluates at the fit's fitted values, as R's mustart
  return { done: false, spec: { ...spec, devOnly: false, nullFit: { fit, a: Number.NaN, iter: 0, devOld: Number.POSITIVE_INFINITY, intercept } } };
}

/** After a null-deviance pass: converged (as glm.fit, relative deviance change) or one more scalar IRLS step. */
function afterNullPass(spec: GlmSpec, state: GlmState): PassResult<GlmSpec, GlmRaw> {
  const nf = spec.nullFit!;
  const dev = state.nul[0]!;
  const finish = (): PassResult<GlmSpec, GlmRaw> => {
    const fitState = nf.fit.state;
    fitState.s[1] = dev;
    const { nullFit: _, ...rest } = spec;
    return { done: true, result: { ...nf.fit, spec: rest, state: fitState } };
  };
  if (!nf.intercept) return finish();
  if (!(state.nul[1]! > 0)) return finish();
  if (Number.isNaN(nf.a)) return { done: false, spec: { ...spec, nullFit: { ...nf, a: state.nul[2]! / state.nul[1]!, devOld: dev } } };
  const rel = Math.abs(dev - nf.devOld) / (Math.abs(dev) + 0.1);
  if (rel < Math.min(spec.tol, 1e-10) || nf.iter >= Math.max(spec.maxIterations, 25)) return finish();
  return { done: false, spec: { ...spec, nullFit: { ...nf, a: state.nul[2]! / state.nul[1]!, iter: nf.iter + 1, devOld: dev } } };
}

export interface RxGlmOptions extends RxLinModOptions {
  family?: string | FamilySpec;
  link?: string;
  varPower?: number;
  linkPower?: number;
  maxIterations?: number;
  /** Relative deviance change for convergence (R's epsilon). */
  objectiveFunctionTolerance?: number;
  coefTolerance?: number;
  initialValues?: number[];
  /**
   * Memory budget in bytes for keeping the model matrix (8 n p bytes plus y and weights)
   * between IRLS passes instead of rebuilding it from the data on every pass (default
   * 1 GiB, shared by the worker threads of RxLocalParallel; 0 turns the cache off). When
   * the whole matrix fits, the in-process context also stops re-reading the data after
   * the first pass; otherwise the chunks that fit are cached and the rest are rebuilt.
   */
  modelMatrixCacheBytes?: number;
}

/** Default model-matrix cache budget across IRLS passes (bytes). */
export const DEFAULT_MODEL_MATRIX_CACHE_BYTES = 1 << 30;

/**
 * The source for the IRLS passes in the in-process context: reads with reused buffers and,
 * once a whole pass has been cached, yields data-less chunks (same rows) that the
 * accumulator serves from the cache, so later passes read nothing.
 */
function replaySource(source: DataSource, key: string): DataSource {
  const out: DataSource = {
    kind: source.kind,
    schema: () => source.schema(),
    async *chunks(opts = {}) {
      const c = designCaches.get(key);
      if (c?.complete) {
        for (const [, m] of [...c.chunks].sort((a, b) => a[0] - b[0])) {
          const ch: Chunk = { numRows: m.numRows, startRow: m.startRow, names: [], columns: {} };
          replayChunks.add(ch);
          yield ch;
        }
        return;
      }
      let count = 0;
      for await (const ch of source.chunks({ ...opts, reuseBuffers: true })) {
        count++;
        yield ch;
      }
      const done = designCaches.get(key);
      if (done && !done.overflow && done.chunks.size === count) {
        let all = true;
        for (let k = 0; k < count && all; k++) all = done.chunks.has(k);
        done.complete = all;
      }
    },
  };
  if (source.numRows) out.numRows = () => source.numRows!();
  if (source.describe) out.describe = () => source.describe!();
  return out;
}

async function fitGlm(formula: string, data: unknown, opts: RxGlmOptions, binary: boolean): Promise<GlmResult> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'options', opts);
  const fam = binary ? familySpec('binomial', 'logit') : familySpec(opts.family ?? 'gaussian', opts.link, opts.varPower, opts.linkPower);
  const weights = opts.weights ?? opts.pweights ?? opts.fweights;
  const { source, design } = await prepareModel(formula, data, {
    ...(opts.rowSelection !== undefined ? { rowSelection: opts.rowSelection } : {}),
    ...(opts.transforms !== undefined ? { transforms: opts.transforms } : {}),
    dropFirst: opts.dropFirst ?? false,
    ...(opts.cube ? { cube: true } : {}),
    ...(opts.dropMain ? { dropMain: true } : {}),
    ...(weights !== undefined ? { weights } : {}),
    binaryResponse: binary || fam.family === 'binomial',
  });
  const p = design.xCols.length;
  if (opts.initialValues && opts.initialValues.length !== p) throw argError(`an array of ${p} initial values`, 'initialValues', opts.initialValues);
  const spec: GlmSpec = {
    design,
    family: fam,
    beta: opts.initialValues ? opts.initialValues.slice() : null,
    prevBeta: null,
    iter: 0,
    maxIterations: opts.maxIterations ?? 25,
    tol: opts.objectiveFunctionTolerance ?? 1e-8,
    devOld: Number.POSITIVE_INFINITY,
    prevInverse: null,
    prevAliased: null,
    prevRank: 0,
    prevKappa: Number.NaN,
    wtdmu: Number.NaN,
    binary: binary || fam.family === 'binomial',
    cacheKey: '',
    cacheBytes: 0,
  };
  const budget = opts.modelMatrixCacheBytes ?? DEFAULT_MODEL_MATRIX_CACHE_BYTES;
  if (typeof budget !== 'number' || !(budget >= 0)) throw argError('a number of bytes >= 0', 'modelMatrixCacheBytes', budget);
  const { ctx } = resolveRunOptions(modelRunOptions(opts));
  const local = ctx instanceof RxLocalSeq;
  if (local || ctx instanceof RxLocalParallel) {
    spec.cacheKey = randomUUID();
    spec.cacheBytes = local ? budget : Math.floor(budget / Math.max(1, (ctx as RxLocalParallel).numWorkers));
  }
  let raw: GlmRaw;
  try {
    raw = await runAccumulator(glmAccumulator, spec, local ? replaySource(source, spec.cacheKey) : source, modelRunOptions(opts));
  } finally {
    if (local) releaseSlabs(designCaches.get(spec.cacheKey));
    designCaches.delete(spec.cacheKey);
  }
  const res = glmFromRaw(raw, binary);
  if (opts.pweights !== undefined && opts.weights === undefined) {
    const fixed = fam.family === 'binomial' || fam.family === 'poisson';
    await applyPweights(res, local ? transientChunkSource(source) : source, modelRunOptions(opts), fam, fixed, true);
  }
  if (source.describe) res.dataDescription = source.describe();
  return res;
}

function glmFromRaw(raw: GlmRaw, binary: boolean): GlmResult {
  const { spec, state } = raw;
  const design = spec.design;
  const p = design.xCols.length;
  const fam = spec.family;
  const s = state.s;
  const nObs = s[8]!;
  const rank = raw.rank;
  const dfResid = nObs - rank;
  const dfNull = nObs - (design.intercept ? 1 : 0);
  const dev = s[0]!;
  const fixed = fam.family === 'binomial' || fam.family === 'poisson';
  const dispersion = fixed ? 1 : dfResid > 0 ? s[4]! / dfResid : Number.NaN;
  const warnings: string[] = [];
  if (!raw.converged) warnings.push(`IRLS did not converge in ${spec.maxIterations} iterations`);
  const coef: number[] = [];
  const se: number[] = [];
  for (let j = 0; j < p; j++) {
    const al = raw.aliased[j] === 1;
    coef.push(al ? Number.NaN : raw.beta[j]!);
    se.push(al ? Number.NaN : Math.sqrt(dispersion * raw.inverse[j * p + j]!));
  }
  const tv = coef.map((b, j) => b / se[j]!);
  const pv = tv.map((t) => (Number.isNaN(t) ? Number.NaN : fixed ? 2 * pnorm(-Math.abs(t)) : 2 * pt(Math.abs(t), dfResid, false)));
  if (fam.family === 'binomial') {
    // separation: fitted probabilities at 0 or 1 show as huge coefficients with huge SEs
    if (dev < 1e-6 * Math.max(1, nObs) || se.some((x) => x > 1e4)) warnings.push('fitted probabilities numerically 0 or 1 occurred (possible complete separation)');
  }
  let aic: number;
  const sw = s[3]!;
  switch (fam.family) {
    case 'gaussian':
      aic = nObs * (Math.log((2 * Math.PI * dev) / nObs) + 1) + 2 + 2 * rank;
      break;
    case 'binomial':
    case 'poisson':
      aic = -2 * s[5]! + 2 * rank;
      break;
    case 'Gamma': {
      const disp = dev / sw;
      const a = 1 / disp;
      // sum w log dgamma(y; shape a, scale mu/a)
      const ll = sw * (-lgamma(a) + a * Math.log(a)) + a * s[7]! + (a - 1) * s[6]!;
      aic = -2 * ll + 2 + 2 * rank;
      break;
    }
    case 'inverse.gaussian':
      aic = sw * (Math.log((dev / sw) * 2 * Math.PI) + 1) + 3 * s[6]! + 2 + 2 * rank;
      break;
    default:
      aic = Number.NaN;
  }
  const inv2 = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => raw.inverse[j * p + i]!));
  return new GlmResult({
    kind: binary ? 'logit' : 'glm',
    formula: design.formula,
    design,
    coefNames: design.xCols.map((c) => design.coefs[c]!.name),
    rNames: design.xCols.map((c) => design.coefs[c]!.rName),
    coefficients: coef,
    stdErrors: se,
    tValues: tv,
    pValues: pv,
    aliased: raw.aliased.map((a) => a === 1),
    rank,
    dfResidual: dfResid,
    dfNull,
    conditionNumber: raw.kappa,
    nValidObs: nObs,
    nMissingObs: state.nMissing,
    unscaledCov: inv2,
    covCoef: inv2.map((r) => r.map((v) => v * dispersion)),
    warnings,
    family: fam,
    deviance: dev,
    nullDeviance: s[1]!,
    aic,
    dispersion,
    iterations: spec.iter,
    converged: raw.converged,
  });
}

/** Logistic regression by IRLS. */
export function rxLogit(formula: string, data: unknown, opts: RxGlmOptions = {}): Promise<GlmResult> {
  return fitGlm(formula, data, opts, true);
}

/** Generalized linear models (R's glm families and links). */
export function rxGlm(formula: string, data: unknown, opts: RxGlmOptions = {}): Promise<GlmResult> {
  return fitGlm(formula, data, opts, false);
}
