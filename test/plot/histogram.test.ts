import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { niceBreaks, rxHistogram } from '../../lib/plot/histogram.js';
import { csvData } from '../summary/helpers.js';
import { checkWellFormedXml, countMarks } from './svg.js';

describe('rxHistogram', () => {
  it('bins like R hist (right-closed, nice breaks) and draws one rect per bin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxhist-'));
    const file = join(dir, 'h.svg');
    const h = await rxHistogram('~ Sepal.Length', csvData('iris.csv', { rowsPerRead: 16 }), { numBreaks: 8, file });
    // R: hist(iris$Sepal.Length, breaks = 8)$breaks = 4.0 4.5 ... 8.0, counts 5 27 27 30 31 18 6 6
    expect(h.breaks).toEqual([4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8]);
    expect(h.bars.map((b) => b.count)).toEqual([5, 27, 27, 30, 31, 18, 6, 6]);
    const svg = readFileSync(file, 'utf8');
    expect(svg).toBe(h.svg);
    expect(checkWellFormedXml(svg).root).toBe('svg');
    expect(countMarks(svg, 'rect')).toBe(8);
    expect(svg).toContain('Histogram of Sepal.Length');
    expect(svg).toContain('>Counts<');
    expect(svg).toContain('>Sepal.Length<');
  });

  it('writes PNG when asked (through the optional @resvg/resvg-js)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxhist-'));
    const file = join(dir, 'h.png');
    const h = await rxHistogram('~ Petal.Length', csvData('iris.csv'), { file });
    const png = readFileSync(file);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(h.png!.length).toBe(png.length);
  });

  it('~ x | F draws one panel per level with shared breaks', async () => {
    const h = await rxHistogram('~ ArrDelay | DayOfWeek', csvData('AirlineDemo1kNoMissing.csv', { rowsPerRead: 100 }), { numBreaks: 10, histType: 'Percent' });
    expect(h.panels).toEqual(['DayOfWeek = Monday', 'DayOfWeek = Tuesday']);
    const nb = h.breaks!.length - 1;
    expect(h.bars).toHaveLength(2 * nb);
    expect(h.bars.filter((b) => b.panel === 'DayOfWeek = Monday').reduce((s, b) => s + b.count, 0)).toBe(300);
    expect(h.bars.filter((b) => b.panel === 'DayOfWeek = Tuesday').reduce((s, b) => s + b.percent, 0)).toBeCloseTo(100, 10);
    checkWellFormedXml(h.svg);
    expect(countMarks(h.svg, 'rect')).toBe(2 * nb);
    expect(h.svg).toContain('DayOfWeek = Tuesday');
    expect(h.svg).toContain('Percent of total');
  });

  it('factor x gives one bar per level; F(x) uses integer levels', async () => {
    const h = await rxHistogram('~ Species', csvData('iris.csv'));
    expect(h.bars.map((b) => [b.level, b.count])).toEqual([
      ['setosa', 50],
      ['versicolor', 50],
      ['virginica', 50],
    ]);
    expect(countMarks(h.svg, 'rect')).toBe(3);
    const g = await rxHistogram('~ F(Number)', csvData('kyphosis.csv'));
    expect(g.bars.map((b) => b.level)).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(g.bars.map((b) => b.count)).toEqual([12, 23, 18, 17, 4, 5, 0, 1, 1]);
  });

  it('nice breaks, startVal/endVal, missing values, bad input', async () => {
    expect(niceBreaks(0.3, 9.7, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(niceBreaks(5, 5, 10)).toEqual([4.5, 5.5]);
    const h = await rxHistogram('~ x', new RxMemoryData({ x: [1, 2, null, 3, 50] }), { startVal: 0, endVal: 10, numBreaks: 5 });
    expect(h.breaks![0]).toBe(0);
    expect(h.breaks![h.breaks!.length - 1]).toBe(10);
    expect(h.bars.reduce((s, b) => s + b.count, 0)).toBe(3);
    expect(h.missing).toBe(2);
    await expect(rxHistogram('~ nope', csvData('iris.csv'))).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'nope' });
    await expect(rxHistogram('~ Sepal.Length | Petal.Width', csvData('iris.csv'))).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'Petal.Width' });
    await expect(rxHistogram('~ a + b', csvData('iris.csv'))).rejects.toMatchObject({ code: 'RX_FORMULA' });
  });
});
