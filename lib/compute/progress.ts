/**
 * Progress reporting (RevoScaleR's `reportProgress`):
 *   0  nothing
 *   1  one summary line per pass when it ends ("Rows Processed: 1,000,000, Total Time: 1.234 seconds")
 *   2  a progress bar redrawn in place (rows, rows/s, and percent + ETA when the total row
 *      count is known) once a pass has run for `barDelayMs` (default 500 ms, so quick
 *      calls do not flash a bar), cleared and replaced by the summary line at the end
 *   3  one detail line per chunk ("Rows Read: 500,000, Total Rows Processed: 1,000,000,
 *      Total Chunk Time: 0.123 seconds") plus the summary line
 * Output goes to process.stderr by default and ONLY when the stream is a TTY: piped or
 * redirected output (CI logs, tests) stays silent. Tests pass a fake stream with isTTY: true.
 */

export type ProgressLevel = 0 | 1 | 2 | 3;

export interface ProgressStream {
  isTTY?: boolean;
  /** Terminal width; 80 when unknown. */
  columns?: number;
  write(s: string): unknown;
}

export interface ProgressOptions {
  level: ProgressLevel;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Prefix such as the analysis name ('rxSummary'). */
  label?: string;
  /** Clock in milliseconds (injectable for tests). Default performance.now(). */
  now?: () => number;
  /** Minimum milliseconds between bar redraws (default 100). */
  redrawMs?: number;
  /** Level 2: show the bar only once a pass has run this long (default 500). */
  barDelayMs?: number;
}

/** What compute contexts call while they run a pass. */
export interface ProgressSink {
  /** A new pass begins; totalRows when known. */
  startPass(pass: number, totalRows?: number): void;
  /** A chunk of `rows` rows has been processed (chunkMs: time spent on it, when known). */
  chunk(rows: number, chunkMs?: number): void;
  /** The pass is complete. */
  endPass(): void;
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 2_300_000 -> "2.3M"; 950 -> "950". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return '?';
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(1)}G`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return `${Math.round(perSecond)}`;
}

/** Seconds -> "42s", "3m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface BarState {
  rows: number;
  totalRows?: number;
  elapsedMs: number;
  label?: string;
  width?: number;
}

/**
 * One progress-bar line (no \r). With a known total:
 *   "rxSummary [=========>          ] 45% 450,000/1,000,000 rows 2.3M rows/s ETA 3s"
 * without: "rxSummary 450,000 rows 2.3M rows/s". Truncated to `width` - 1 characters.
 */
export function formatProgressBar(s: BarState): string {
  const width = Math.max(20, s.width ?? 80);
  const secs = s.elapsedMs / 1000;
  const rate = secs > 0 ? s.rows / secs : Number.NaN;
  const rateText = `${formatRate(rate)} rows/s`;
  const prefix = s.label ? `${s.label} ` : '';
  let line: string;
  if (s.totalRows !== undefined && s.totalRows > 0) {
    const frac = Math.min(1, s.rows / s.totalRows);
    const eta = rate > 0 ? (s.totalRows - s.rows) / rate : Number.NaN;
    const tail = ` ${Math.floor(frac * 100)}% ${formatCount(s.rows)}/${formatCount(s.totalRows)} rows ${rateText} ETA ${formatDuration(eta)}`;
    const barWidth = Math.max(10, Math.min(30, width - 1 - prefix.length - tail.length - 2));
    const filled = Math.floor(frac * barWidth);
    const bar = frac >= 1 ? '='.repeat(barWidth) : `${'='.repeat(filled)}>${' '.repeat(barWidth - filled - 1)}`;
    line = `${prefix}[${bar}]${tail}`;
  } else {
    line = `${prefix}${formatCount(s.rows)} rows ${rateText}`;
  }
  return line.length > width - 1 ? line.slice(0, width - 1) : line;
}

/** Writes progress for one run. A level-0 or non-TTY reporter writes nothing. */
export class ProgressReporter implements ProgressSink {
  readonly level: ProgressLevel;
  private readonly stream: ProgressStream;
  private readonly label: string | undefined;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly barDelayMs: number;
  private readonly active: boolean;
  private pass = 0;
  private totalRows: number | undefined;
  private rows = 0;
  private chunkMsTotal = 0;
  private passStart = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private barShown = false;

  constructor(opts: ProgressOptions) {
    this.level = opts.level;
    this.stream = opts.stream ?? process.stderr;
    this.label = opts.label;
    this.now = opts.now ?? (() => performance.now());
    this.redrawMs = opts.redrawMs ?? 100;
    this.barDelayMs = opts.barDelayMs ?? 500;
    this.active = this.level > 0 && this.stream.isTTY === true;
  }

  private passLabel(): string {
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (this.pass > 1) parts.push(`pass ${this.pass}`);
    return parts.join(' ');
  }

  startPass(pass: number, totalRows?: number): void {
    this.pass = pass;
    this.totalRows = totalRows;
    this.rows = 0;
    this.chunkMsTotal = 0;
    this.passStart = this.now();
    this.lastDraw = Number.NEGATIVE_INFINITY;
    if (this.active && this.level === 2) this.draw(true);
  }

  chunk(rows: number, chunkMs?: number): void {
    this.rows += rows;
    if (chunkMs !== undefined) this.chunkMsTotal += chunkMs;
    if (!this.active) return;
    if (this.level === 2) this.draw(false);
    else if (this.level === 3) {
      const t = chunkMs !== undefined ? `, Total Chunk Time: ${(chunkMs / 1000).toFixed(3)} seconds` : '';
      const pre = this.passLabel();
      this.stream.write(`${pre ? `${pre}: ` : ''}Rows Read: ${formatCount(rows)}, Total Rows Processed: ${formatCount(this.rows)}${t}\n`);
    }
  }

  endPass(): void {
    if (!this.active) return;
    if (this.level === 2 && this.barShown) {
      this.stream.write('\r\x1b[K');
      this.barShown = false;
    }
    const secs = (this.now() - this.passStart) / 1000;
    const pre = this.passLabel();
    this.stream.write(`${pre ? `${pre}: ` : ''}Rows Processed: ${formatCount(this.rows)}, Total Time: ${secs.toFixed(3)} seconds\n`);
  }

  private draw(force: boolean): void {
    const t = this.now();
    if (t - this.passStart < this.barDelayMs) return;
    if (!force && t - this.lastDraw < this.redrawMs && !(this.totalRows !== undefined && this.rows >= this.totalRows)) return;
    this.lastDraw = t;
    const line = formatProgressBar({ rows: this.rows, totalRows: this.totalRows, elapsedMs: t - this.passStart, label: this.passLabel(), width: this.stream.columns ?? 80 });
    this.stream.write(`\r${line}\x1b[K`);
    this.barShown = true;
  }
}

/** A sink that ignores everything. */
export const noProgress: ProgressSink = { startPass() {}, chunk() {}, endPass() {} };
