/**
 * L-BFGS, and OWL-QN (Andrew & Gao 2007) when an L1 penalty is present, minimising
 * F(x) = f(x) + l1 * sum_{j in penalised} |x_j| for a smooth f given with its gradient.
 *
 * Convergence as MicrosoftML's L-BFGS (`optTol`): the mean relative improvement of F over
 * the last 5 iterations, (F_{k-5} - F_k) / (5 |F_k|), falls below `tol` (before 5 iterations,
 * over the iterations so far); also when the pseudo-gradient vanishes or no step decreases F.
 */

export interface LbfgsOptions {
  /** History size (memorySize). */
  m: number;
  tol: number;
  maxIterations: number;
  l1: number;
  /** 1 for coordinates the L1 term penalises, 0 otherwise (the biases). */
  penalised: Uint8Array;
}

export interface LbfgsResult {
  x: Float64Array;
  /** F at x (smooth part + L1). */
  value: number;
  iterations: number;
  converged: boolean;
}

export type Objective = (x: Float64Array, grad: Float64Array) => Promise<number>;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export async function minimizeLbfgs(fn: Objective, x0: Float64Array, o: LbfgsOptions): Promise<LbfgsResult> {
  const d = x0.length;
  const l1 = o.l1;
  const pen = o.penalised;
  const l1Of = (x: Float64Array): number => {
    if (l1 === 0) return 0;
    let s = 0;
    for (let j = 0; j < d; j++) if (pen[j]) s += Math.abs(x[j]!);
    return l1 * s;
  };
  let x = Float64Array.from(x0);
  let g = new Float64Array(d);
  let F = (await fn(x, g)) + l1Of(x);
  const pg = new Float64Array(d);
  const pseudo = (): void => {
    for (let j = 0; j < d; j++) {
      const gj = g[j]!;
      if (l1 === 0 || !pen[j]) pg[j] = gj;
      else if (x[j]! > 0) pg[j] = gj + l1;
      else if (x[j]! < 0) pg[j] = gj - l1;
      else if (gj + l1 < 0) pg[j] = gj + l1;
      else if (gj - l1 > 0) pg[j] = gj - l1;
      else pg[j] = 0;
    }
  };
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const hist: number[] = [F];
  const dir = new Float64Array(d);
  const xn = new Float64Array(d);
  let gn = new Float64Array(d);
  let iter = 0;
  let converged = false;
  while (iter < o.maxIterations) {
    pseudo();
    let pgMax = 0;
    for (let j = 0; j < d; j++) pgMax = Math.max(pgMax, Math.abs(pg[j]!));
    if (pgMax === 0 || pgMax <= 1e-15 * Math.max(1, Math.abs(F))) {
      converged = true;
      break;
    }
    // two-loop recursion on -pg
    for (let j = 0; j < d; j++) dir[j] = -pg[j]!;
    const k = S.length;
    const alpha = new Array<number>(k);
    for (let i = k - 1; i >= 0; i--) {
      alpha[i] = rho[i]! * dot(S[i]!, dir);
      const yi = Y[i]!;
      for (let j = 0; j < d; j++) dir[j]! -= alpha[i]! * yi[j]!;
    }
    if (k > 0) {
      const gamma = dot(S[k - 1]!, Y[k - 1]!) / dot(Y[k - 1]!, Y[k - 1]!);
      for (let j = 0; j < d; j++) dir[j]! *= gamma;
    }
    for (let i = 0; i < k; i++) {
      const beta = rho[i]! * dot(Y[i]!, dir);
      const si = S[i]!;
      for (let j = 0; j < d; j++) dir[j]! += (alpha[i]! - beta) * si[j]!;
    }
    if (l1 > 0) for (let j = 0; j < d; j++) if (pen[j] && dir[j]! * pg[j]! >= 0) dir[j] = 0;
    let slope = dot(dir, pg);
    if (!(slope < 0)) {
      for (let j = 0; j < d; j++) dir[j] = -pg[j]!;
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      slope = dot(dir, pg);
    }
    // backtracking line search in the orthant of x (OWL-QN projection)
    let step = iter === 0 && S.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(pg, pg))) : 1;
    let Fn = Number.NaN;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      for (let j = 0; j < d; j++) {
        let v = x[j]! + step * dir[j]!;
        if (l1 > 0 && pen[j]) {
          const orth = x[j]! !== 0 ? Math.sign(x[j]!) : -Math.sign(pg[j]!);
          if (v * orth <= 0) v = 0;
        }
        xn[j] = v;
      }
      Fn = (await fn(xn, gn)) + l1Of(xn);
      let decrease = 0;
      for (let j = 0; j < d; j++) decrease += pg[j]! * (xn[j]! - x[j]!);
      if (Number.isFinite(Fn) && Fn <= F + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      converged = true; // no decrease possible at double precision
      break;
    }
    const s = new Float64Array(d);
    const yv = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      s[j] = xn[j]! - x[j]!;
      yv[j] = gn[j]! - g[j]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-20) {
      if (S.length === o.m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    x = Float64Array.from(xn);
    const tmp = g;
    g = gn;
    gn = tmp;
    F = Fn;
    iter++;
    hist.push(F);
    const back = Math.min(5, hist.length - 1);
    const prev = hist[hist.length - 1 - back]!;
    const rel = (prev - F) / (back * Math.max(Math.abs(F), 1e-300));
    if (rel < o.tol) {
      converged = true;
      break;
    }
  }
  return { x, value: F, iterations: iter, converged };
}
