import { describe, expect, it } from 'vitest';
import { RxError, rxNativeInfo, rxOptions } from '../../lib/index.js';

describe('native addon', () => {
  it('loads and reports its build', () => {
    const info = rxNativeInfo();
    expect(['mkl', 'openblas', 'builtin']).toContain(info.blas);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.addonPath).toMatch(/rxscale\.node$/);
    expect(info.cuda).toBe(false);
  });

  it('shares one thread budget through rxOptions', () => {
    const before = rxOptions().numThreads;
    rxOptions({ numThreads: 1 });
    expect(rxNativeInfo().threads).toBe(1);
    rxOptions({ numThreads: before });
    expect(rxNativeInfo().threads).toBe(before);
  });

  it('rejects bad thread counts with RX_ARG', () => {
    expect(() => rxOptions({ numThreads: 0 })).toThrow(RxError);
    expect(() => rxOptions({ numThreads: 1.5 })).toThrow(
      expect.objectContaining({ code: 'RX_ARG', message: 'Expected integer >= 1 for numThreads but received number 1.5' }),
    );
  });
});
