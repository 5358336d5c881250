/**
 * Starts throw-away PostgreSQL servers for tests: each server gets its own temp dir, listens
 * on 127.0.0.1 only on a free port, trust auth, fsync off, and runs as user `postgres` when
 * the tests run as root (the server refuses to run as root). `stop()` shuts it down and
 * removes the directory.
 *
 * initdb runs once per PostgreSQL version and machine: the cluster it creates is kept as a
 * template under os.tmpdir() (`rxscale-pg-template-<version>-<layout>`) and every server
 * starts from a copy of it (`cp -a`, well under a second, against several seconds for
 * initdb on a busy machine). The template is built in a private directory and renamed into
 * place, so concurrent test files never see a half-written one; it is never started itself.
 *
 * Returns null (with the reason) when PostgreSQL binaries are not installed, so tests can
 * skip visibly.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PgInstance {
  url: string;
  port: number;
  /** The server's data directory (a copy of the template). */
  dataDir: string;
  stop(): void;
}

/** Bump when the initdb options below change, so an old template is not reused. */
const TEMPLATE_LAYOUT = 'v1';
const INITDB_ARGS = ['-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C'];

function pgBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0]!, 'bin') : null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function postgresUnavailableReason(): string | null {
  if (!pgBinDir()) return 'PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)';
  if (process.getuid?.() === 0 && spawnSync('id', ['postgres']).status !== 0) return 'running as root but there is no "postgres" user to run the server';
  return null;
}

const asRoot = () => process.getuid?.() === 0;

/** Runs a program, as user postgres when we are root. */
function runAsPg(program: string, args: string[]): Buffer {
  return asRoot() ? execFileSync('runuser', ['-u', 'postgres', '--', program, ...args], { stdio: 'pipe' }) : execFileSync(program, args, { stdio: 'pipe' });
}

/** runAsPg without blocking the event loop (several servers start in parallel). */
async function runAsPgAsync(program: string, args: string[]): Promise<void> {
  if (asRoot()) await execFileAsync('runuser', ['-u', 'postgres', '--', program, ...args]);
  else await execFileAsync(program, args);
}

/** A fresh temp directory the server's user owns. */
function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  return dir;
}

/** The server version string (e.g. "15.8"), part of the template's key. */
function pgVersion(bin: string): string {
  const out = execFileSync(join(bin, 'postgres'), ['--version'], { stdio: 'pipe' }).toString();
  return /(\d+(?:\.\d+)*)/.exec(out)?.[1] ?? 'unknown';
}

/** The template cluster's data directory for `bin`, created (initdb) on first use. */
export function pgTemplate(bin: string): string {
  const final = join(tmpdir(), `rxscale-pg-template-${pgVersion(bin)}-${TEMPLATE_LAYOUT}`);
  const ready = join(final, 'READY');
  if (existsSync(ready)) return join(final, 'data');
  const work = ownedTempDir('rxscale-pg-template-build-');
  try {
    runAsPg(join(bin, 'initdb'), ['-D', join(work, 'data'), ...INITDB_ARGS]);
    writeFileSync(join(work, 'READY'), `${new Date().toISOString()}\n`);
    try {
      renameSync(work, final);
    } catch (e) {
      // another test file finished first: use its template
      if (!existsSync(ready)) {
        // a stale, incomplete directory (no READY): replace it
        rmSync(final, { recursive: true, force: true });
        renameSync(work, final);
      } else if (!(e as NodeJS.ErrnoException).code?.match(/ENOTEMPTY|EEXIST/)) throw e;
    }
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
  return join(final, 'data');
}

export async function startPostgres(): Promise<PgInstance> {
  const bin = pgBinDir();
  if (!bin) throw new Error(postgresUnavailableReason() ?? 'no PostgreSQL');
  const template = pgTemplate(bin);
  const dir = ownedTempDir('rxscale-pg-');
  const data = join(dir, 'data');
  try {
    await runAsPgAsync('cp', ['-a', template, data]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let port = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    try {
      await runAsPgAsync(join(bin, 'pg_ctl'), [
        '-D',
        data,
        '-w',
        '-t',
        '60',
        '-l',
        join(dir, 'log.txt'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        'start',
      ]);
      break;
    } catch (e) {
      if (attempt === 4) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  let stopped = false;
  const instance: PgInstance = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir: data,
    stop() {
      if (stopped) return;
      stopped = true;
      live.delete(instance);
      try {
        runAsPg(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  live.add(instance);
  return instance;
}

/** Servers not stopped yet: stopped when the test process exits, whatever the tests did. */
const live = new Set<PgInstance>();
process.once('exit', () => {
  for (const s of [...live]) {
    try {
      s.stop();
    } catch {
      /* best effort at exit */
    }
  }
});
