/** Plots rendered headlessly with Vega-Lite to SVG (PNG with the optional @resvg/resvg-js). */
export { rxHistogram, histogramAccumulator, niceBreaks } from './histogram.js';
export type { RxHistogramOptions, RxHistogramResult, HistogramBar } from './histogram.js';
export { renderVegaLite } from './render.js';
export type { PlotFormat, PlotOutputOptions, PlotResult } from './render.js';
export { rxLinePlot, linePlotAccumulator } from './lineplot.js';
export type { RxLinePlotOptions, RxLinePlotResult } from './lineplot.js';
export { rxRoc, rxAuc, RxRocResult, rocAccumulator } from './roc.js';
export type { RxRocOptions, RocPoint } from './roc.js';
