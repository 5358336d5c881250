// Seeded synthetic nonlinear binary task: N rows x 28 standard-normal features (pairs correlated),
// logit = nonlinear terms + noise; y ~ Bernoulli(sigmoid(logit)). Written column-major as raw
// float64 (x) and uint8 (y) files under os.tmpdir() so rxscale, XGBoost, scikit-learn and R read
// the same bytes. Bayes AUC is about 0.86.
//   node bench/gen-binary-task.mjs [rows] [seed]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const P = 28;

function rng(seed) {
  let s = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  return () => {
    s = BigInt.asUintN(64, s + 0x9e3779b97f4a7c15n);
    let z = s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z ^= z >> 31n;
    return Number(z >> 11n) / 2 ** 53;
  };
}

/** Generates { x: Float64Array (P*n, column-major), y: Uint8Array }. */
export function generate(n, seed) {
  const u = rng(seed);
  const x = new Float64Array(P * n);
  const y = new Uint8Array(n);
  const z = new Float64Array(P);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < P; j += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u()));
      const t = 2 * Math.PI * u();
      z[j] = r * Math.cos(t);
      z[j + 1] = 0.6 * z[j] + 0.8 * r * Math.sin(t);
    }
    for (let j = 0; j < P; j++) x[j * n + i] = z[j];
    const f =
      1.2 * Math.sin(1.5 * z[0]) +
      0.8 * z[1] * z[2] -
      0.6 * z[3] * z[3] +
      0.9 * (z[4] > 0.3 ? 1 : -1) * Math.abs(z[5]) +
      0.7 * Math.tanh(2 * z[6] - z[7]) +
      0.5 * z[8] +
      0.4 * Math.max(z[9], z[10]) -
      0.5 * Math.cos(z[11] * z[12]) +
      0.3 * (z[13] + z[14] + z[15]) +
      0.25 * z[16] * (z[17] > 0 ? 1 : 0) +
      0.4;
    y[i] = u() < 1 / (1 + Math.exp(-f)) ? 1 : 0;
  }
  return { x, y };
}

/** Writes (or reuses) the files; returns their paths. */
export function ensureFiles(n, seed) {
  const dir = join(tmpdir(), 'rxscale-bench-binary');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `task_${n}_${seed}`);
  const xf = `${base}.x.f64`;
  const yf = `${base}.y.u8`;
  if (!existsSync(xf) || !existsSync(yf)) {
    const { x, y } = generate(n, seed);
    writeFileSync(xf, x);
    writeFileSync(yf, y);
  }
  return { xf, yf, n, p: P };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  console.log(ensureFiles(n, seed));
}
