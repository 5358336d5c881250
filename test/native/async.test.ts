// Large native work runs on the libuv pool: the event loop keeps turning while it runs,
// and failures come back as rejected promises carrying RxError codes.
import { describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { qrUpdateAsync, xtwxAccumulateAsync } from '../../lib/native/linalg.js';

describe('async native kernels', () => {
  it('a setInterval timer keeps firing while a >= 2e8 flop cross-product runs', async () => {
    const n = 80_000;
    const p = 50; // X'X costs n*p*(p+1) = 2.04e8 flops, repeated 4 times (~8e8)
    const X = new Float64Array(n * p);
    for (let i = 0; i < X.length; i++) X[i] = ((i * 2654435761) % 1000) / 1000;
    const xtx = new Float64Array(p * p);
    const xty = new Float64Array(p);
    const acc = new Float64Array(3);
    // Ticks are only counted while a native call is in flight. A kernel that blocked the
    // thread would finish before any timer could run, leaving the count at 0.
    let inFlight = false;
    let ticksWhilePending = 0;
    const timer = setInterval(() => {
      if (inFlight) ticksWhilePending++;
    }, 1);
    try {
      for (let r = 0; r < 4; r++) {
        inFlight = true;
        await xtwxAccumulateAsync(X, n, p, null, null, xtx, xty, acc);
        inFlight = false;
      }
    } finally {
      clearInterval(timer);
    }
    expect(ticksWhilePending).toBeGreaterThan(0);
    expect(acc[2]).toBe(4 * n);
    // result is right: diagonal of X'X equals 4 * sum x^2
    let s = 0;
    for (let i = 0; i < n; i++) s += X[i] * X[i];
    expect(Math.abs(xtx[0] - 4 * s) / (4 * s)).toBeLessThan(1e-12);
  });

  it('async wrappers reject (never throw) with RxError RX_ARG for bad arguments', async () => {
    const bad = xtwxAccumulateAsync(new Float64Array(3), 2, 2, null, null, new Float64Array(4), new Float64Array(2), new Float64Array(3));
    await expect(bad).rejects.toBeInstanceOf(RxError);
    await expect(bad).rejects.toMatchObject({ code: 'RX_ARG', message: 'Expected Float64Array of length >= 4 (n*p) for X but received Float64Array of length 3' });
    await expect(qrUpdateAsync(null, new Float64Array(3), 2.5, 2)).rejects.toMatchObject({ code: 'RX_ARG', message: 'Expected an integer for n but received number 2.500000' });
  });
});
