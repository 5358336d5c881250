/**
 * Non-waiting jobs (`wait: false`): RevoScaleR's rxGetJobStatus / rxGetJobResults /
 * rxCancelJob. A job runs at once in the background; cancel() aborts its AbortSignal
 * (worker threads are terminated) and results() then rejects with RxError('RX_CANCELLED').
 */
import { RxError } from '../errors.js';
import { argError } from '../validate.js';

export type JobStatus = 'running' | 'finished' | 'failed' | 'cancelled';

let jobSeq = 0;

export class RxJob<T> {
  readonly id: number;
  readonly name: string;
  private st: JobStatus = 'running';
  private readonly controller = new AbortController();
  private readonly promise: Promise<T>;

  /** Starts `body` now; `external` (a caller's signal) also cancels the job. */
  constructor(name: string, body: (signal: AbortSignal) => Promise<T>, external?: AbortSignal) {
    this.id = ++jobSeq;
    this.name = name;
    if (external) {
      if (external.aborted) this.cancel();
      else external.addEventListener('abort', () => this.cancel(), { once: true });
    }
    this.promise = Promise.resolve()
      .then(() => body(this.controller.signal))
      .then(
        (r) => {
          if (this.st === 'running') this.st = 'finished';
          return r;
        },
        (e) => {
          if (this.st === 'running') this.st = this.controller.signal.aborted ? 'cancelled' : 'failed';
          throw e;
        },
      );
    // The job owns its outcome: an unobserved failure is reported through status(), not as an unhandled rejection.
    this.promise.catch(() => {});
  }

  status(): JobStatus {
    return this.st;
  }

  /** The job's results (rejects with the job's error; RX_CANCELLED after cancel()). */
  results(): Promise<T> {
    return this.promise;
  }

  /** Cancels a running job (no effect once it has ended). */
  cancel(): void {
    if (this.st !== 'running') return;
    this.st = 'cancelled';
    this.controller.abort(new RxError('RX_CANCELLED', `job ${this.id} (${this.name}) was cancelled`));
  }
}

function expectJob(job: unknown): RxJob<unknown> {
  if (!(job instanceof RxJob)) throw argError('an RxJob (from wait: false)', 'job', job);
  return job;
}

export function rxGetJobStatus(job: RxJob<unknown>): JobStatus {
  return expectJob(job).status();
}
export function rxGetJobResults<T>(job: RxJob<T>): Promise<T> {
  return expectJob(job).results() as Promise<T>;
}
export function rxCancelJob(job: RxJob<unknown>): void {
  expectJob(job).cancel();
}
