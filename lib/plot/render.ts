/**
 * Rendering: a Vega-Lite spec -> SVG text, headless (vega View with renderer 'none'),
 * optionally written to a file. PNG is produced from the SVG by @resvg/resvg-js when that
 * optional package is installed (it ships prebuilt binaries inside npm packages); without
 * it, asking for PNG gives an RX_ARG error that says how to install it.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { RxError } from '../errors.js';
import { expectOneOf } from '../validate.js';

export type PlotFormat = 'svg' | 'png';

export interface PlotOutputOptions {
  /** Write the picture here (format from the extension unless `format` is given). */
  file?: string;
  format?: PlotFormat;
  width?: number;
  height?: number;
  title?: string;
}

export interface PlotResult {
  /** The Vega-Lite specification (JSON, data inlined). */
  spec: Record<string, unknown>;
  svg: string;
  /** PNG bytes when format 'png' was asked. */
  png?: Uint8Array;
  /** The file written, if any. */
  file?: string;
}

const require = createRequire(import.meta.url);

function toPng(svg: string): Uint8Array {
  let mod: { Resvg: new (svg: string, opts?: unknown) => { render(): { asPng(): Uint8Array } } };
  try {
    mod = require('@resvg/resvg-js');
  } catch (e) {
    throw new RxError('RX_ARG', 'PNG output needs the optional package @resvg/resvg-js (npm install @resvg/resvg-js); SVG output works without it', { cause: e });
  }
  return new mod.Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true } }).render().asPng();
}

/** Renders a Vega-Lite spec to SVG (and PNG / a file when asked). */
export async function renderVegaLite(spec: Record<string, unknown>, out: PlotOutputOptions = {}): Promise<PlotResult> {
  const vgSpec = compile(spec as never).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const format: PlotFormat = out.format !== undefined ? expectOneOf(out.format, ['svg', 'png'] as const, 'format') : out.file?.toLowerCase().endsWith('.png') ? 'png' : 'svg';
  const res: PlotResult = { spec, svg };
  if (format === 'png') res.png = toPng(svg);
  if (out.file) {
    try {
      writeFileSync(out.file, format === 'png' ? res.png! : svg);
    } catch (e) {
      throw new RxError('RX_IO', `Cannot write plot to ${out.file}: ${(e as Error).message}`, { file: out.file, cause: e });
    }
    res.file = out.file;
  }
  return res;
}

/** Readable defaults shared by every plot. */
export function baseSpec(title: string, width: number, height: number): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 14, anchor: 'start' },
    width,
    height,
    config: {
      font: 'Helvetica, Arial, sans-serif',
      axis: { labelFontSize: 11, titleFontSize: 12, labelOverlap: 'greedy', labelFlush: true, grid: true, gridOpacity: 0.5 },
      header: { labelFontSize: 12, titleFontSize: 12 },
      view: { stroke: '#888' },
    },
  };
}
