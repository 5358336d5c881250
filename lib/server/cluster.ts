/**
 * `rxscale serve --workers N`: N scoring-server processes sharing one listening socket
 * through node:cluster (the primary accepts connections and hands them to the workers in
 * turn; keep-alive connections then stay with their worker). The primary only supervises:
 * it forks the workers (each runs the same `serve` command and loads the model directory
 * itself), reports when all listen, re-forks a worker that dies unexpectedly, and on
 * SIGINT / SIGTERM asks every worker to shut down gracefully and waits for them.
 */
import cluster, { type Worker } from 'node:cluster';

/** Message a worker sends the primary once it listens. */
export interface ListeningMessage {
  rxscaleListening: string;
  models: number;
  errors: Record<string, string>;
}

export function isListeningMessage(m: unknown): m is ListeningMessage {
  return typeof m === 'object' && m !== null && typeof (m as ListeningMessage).rxscaleListening === 'string';
}

/** True in a process forked by runServePrimary. */
export function isServeWorker(): boolean {
  return cluster.isWorker;
}

/** Tells the primary this worker listens (no-op outside a cluster). */
export function reportListening(url: string, models: number, errors: Record<string, string>): void {
  if (cluster.isWorker && process.send) process.send({ rxscaleListening: url, models, errors } satisfies ListeningMessage);
}

/** Closes this worker's channel to the primary so the process can exit (no-op outside a cluster). */
export function leaveCluster(): void {
  if (cluster.isWorker && process.connected) process.disconnect();
}

/**
 * Runs the primary for `workers` processes; resolves after a signal once every worker has
 * exited. `log` receives progress lines.
 */
export function runServePrimary(workers: number, log: (line: string) => void): Promise<void> {
  return new Promise<void>((resolveAll) => {
    let stopping = false;
    let listening = 0;
    const live = new Set<Worker>();
    const fork = (): void => {
      const w = cluster.fork();
      live.add(w);
      w.on('message', (m: unknown) => {
        if (!isListeningMessage(m)) return;
        listening++;
        if (listening === workers) {
          log(`rxscale scoring server listening on ${m.rxscaleListening} with ${m.models} model(s), ${workers} worker processes`);
          for (const [name, why] of Object.entries(m.errors)) log(`  skipped ${name}: ${why}`);
        }
      });
      w.on('exit', (code, signal) => {
        live.delete(w);
        if (stopping) {
          if (live.size === 0) resolveAll();
          return;
        }
        log(`worker ${w.process.pid} exited (${signal ?? code}); starting another`);
        fork();
      });
    };
    for (let i = 0; i < workers; i++) fork();
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      log('shutting down');
      if (live.size === 0) resolveAll();
      for (const w of live) w.process.kill('SIGTERM');
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
