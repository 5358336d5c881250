// Shared benchmark helpers: timing with medians, machine facts, result files.
// A benchmark file bench/<name>.bench.mjs exports `default async function (ctx)`
// that returns an array of result rows (see `row`). bench/run.mjs runs them and writes
// bench/results/<name>.json.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

export async function timeIt(fn, { runs = 3, warmup = 0 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return { median: median(times), times, last };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One result row: name, n (problem size), median seconds, plus any metrics. */
export function row(name, n, medianSeconds, extra = {}) {
  return { name, n, medianSeconds, ...extra };
}

export function machineInfo() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** Runs a python3 snippet (system python) and returns parsed JSON from its stdout, or null if unavailable. */
export function python(code, { timeoutMs = 600_000, env = {} } = {}) {
  try {
    const out = execFileSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    const line = out.trim().split('\n').pop();
    return JSON.parse(line);
  } catch (e) {
    return { skipped: `python3 comparison unavailable: ${String(e.message).split('\n')[0]}` };
  }
}

/** Runs an Rscript snippet and returns parsed JSON of its last stdout line, or a skip marker. */
export function rscript(code, { timeoutMs = 600_000 } = {}) {
  try {
    const out = execFileSync('Rscript', ['-e', code], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (e) {
    return { skipped: `R comparison unavailable: ${String(e.message).split('\n')[0]}` };
  }
}

export function peakRssMiB() {
  return +(process.resourceUsage().maxRSS / 1024).toFixed(1);
}
