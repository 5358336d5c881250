import { describe, expect, it } from 'vitest';
import { ProgressReporter, formatCount, formatDuration, formatProgressBar, formatRate } from '../../lib/compute/progress.js';

function fakeStream(isTTY = true, columns = 100) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns, write: (s: string) => out.push(s) } };
}

function clock(step: number) {
  let t = 0;
  return { now: () => t, advance: (ms = step) => (t += ms) };
}

describe('progress formatting', () => {
  it('formats counts, rates and durations', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatRate(950)).toBe('950');
    expect(formatRate(2_340_000)).toBe('2.3M');
    expect(formatRate(12_500)).toBe('12.5k');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });

  it('draws a bar with percent, rows/s and ETA when the total is known', () => {
    const line = formatProgressBar({ rows: 250_000, totalRows: 1_000_000, elapsedMs: 500, label: 'rxSummary', width: 100 });
    expect(line).toBe('rxSummary [=======>                      ] 25% 250,000/1,000,000 rows 500.0k rows/s ETA 2s');
    const done = formatProgressBar({ rows: 10, totalRows: 10, elapsedMs: 1000, width: 60 });
    expect(done).toMatch(/^\[=+\] 100% 10\/10 rows 10 rows\/s ETA 0s$/);
    expect(formatProgressBar({ rows: 3_000, elapsedMs: 2000 })).toBe('3,000 rows 1.5k rows/s');
    expect(formatProgressBar({ rows: 5, totalRows: 10, elapsedMs: 1000, label: 'x'.repeat(200), width: 40 }).length).toBe(39);
  });
});

describe('ProgressReporter', () => {
  it('level 0 and non-TTY streams are silent', () => {
    for (const [level, tty] of [
      [0, true],
      [1, false],
      [2, false],
      [3, false],
    ] as const) {
      const f = fakeStream(tty);
      const r = new ProgressReporter({ level, stream: f.stream });
      r.startPass(1, 10);
      r.chunk(10, 1);
      r.endPass();
      expect(f.out).toEqual([]);
    }
  });

  it('level 1 prints one summary line per pass', () => {
    const f = fakeStream();
    const c = clock(0);
    const r = new ProgressReporter({ level: 1, stream: f.stream, label: 'rxLinMod', now: c.now });
    r.startPass(1, 1000);
    r.chunk(600);
    r.chunk(400);
    c.advance(1500);
    r.endPass();
    r.startPass(2, 1000);
    r.chunk(1000);
    c.advance(250);
    r.endPass();
    expect(f.out).toEqual([
      'rxLinMod: Rows Processed: 1,000, Total Time: 1.500 seconds\n',
      'rxLinMod pass 2: Rows Processed: 1,000, Total Time: 0.250 seconds\n',
    ]);
  });

  it('level 2 redraws a bar in place (throttled) and clears it at the end', () => {
    const f = fakeStream(true, 100);
    const c = clock(0);
    const r = new ProgressReporter({ level: 2, stream: f.stream, now: c.now, redrawMs: 100, barDelayMs: 0 });
    r.startPass(1, 400);
    c.advance(50);
    r.chunk(100); // within 100 ms of the first draw: skipped
    c.advance(50);
    r.chunk(100); // 100 ms: drawn
    c.advance(100);
    r.chunk(200); // complete: always drawn
    r.endPass();
    expect(f.out[0]).toMatch(/^\r\[>\s+\] 0% 0\/400 rows/);
    expect(f.out[1]).toBe(`\r[${'='.repeat(15)}>${' '.repeat(14)}] 50% 200/400 rows 2.0k rows/s ETA 0s\x1b[K`);
    expect(f.out[2]).toMatch(/^\r\[={30}\] 100% 400\/400 rows 2.0k rows\/s ETA 0s\x1b\[K$/);
    expect(f.out[3]).toBe('\r\x1b[K');
    expect(f.out[4]).toBe('Rows Processed: 400, Total Time: 0.200 seconds\n');
    expect(f.out).toHaveLength(5);
  });

  it('level 2 shows no bar for a pass shorter than barDelayMs', () => {
    const f = fakeStream(true, 100);
    const c = clock(0);
    const r = new ProgressReporter({ level: 2, stream: f.stream, now: c.now, barDelayMs: 500 });
    r.startPass(1, 1000);
    c.advance(200);
    r.chunk(500);
    c.advance(200);
    r.chunk(500);
    r.endPass();
    expect(f.out).toEqual(['Rows Processed: 1,000, Total Time: 0.400 seconds\n']);
    // A slow pass gets its bar once the delay has passed.
    const g = fakeStream(true, 100);
    const r2 = new ProgressReporter({ level: 2, stream: g.stream, now: c.now, barDelayMs: 500 });
    r2.startPass(1);
    c.advance(600);
    r2.chunk(300);
    r2.endPass();
    expect(g.out).toEqual(['\r300 rows 500 rows/s\x1b[K', '\r\x1b[K', 'Rows Processed: 300, Total Time: 0.600 seconds\n']);
  });

  it('level 3 prints a detail line per chunk', () => {
    const f = fakeStream();
    const c = clock(0);
    const r = new ProgressReporter({ level: 3, stream: f.stream, now: c.now });
    r.startPass(1);
    r.chunk(500_000, 123.4);
    r.chunk(250_000);
    c.advance(2000);
    r.endPass();
    expect(f.out).toEqual([
      'Rows Read: 500,000, Total Rows Processed: 500,000, Total Chunk Time: 0.123 seconds\n',
      'Rows Read: 250,000, Total Rows Processed: 750,000\n',
      'Rows Processed: 750,000, Total Time: 2.000 seconds\n',
    ]);
  });
});
