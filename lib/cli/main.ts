/**
 * rxscale command line. Exit codes: 0 ok, 1 user error (bad arguments, bad input data:
 * any RxError except RX_INTERNAL), 2 internal error. `--json` prints machine-readable
 * output where it makes sense; progress goes to stderr only on a TTY.
 */
import { writeFile, rename } from 'node:fs/promises';
import { RxError } from '../errors.js';
import { runCommand } from './commands.js';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CliIO = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** Runs the CLI with argv (without node and script); returns the exit code. */
export async function cli(argv: string[], io: CliIO = stdio): Promise<number> {
  try {
    return await runCommand(argv, io);
  } catch (e) {
    if (e instanceof RxError && e.code !== 'RX_INTERNAL') {
      io.err(`rxscale: ${e.message}${e.file ? ` (file ${e.file}${e.row ? `, row ${e.row}` : ''}${e.column !== undefined ? `, column ${e.column}` : ''})` : ''}`);
      return 1;
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`rxscale: ${e.message}\nRun 'rxscale --help' for usage.`);
      return 1;
    }
    io.err(`rxscale: internal error: ${(e as Error).stack ?? String(e)}`);
    return 2;
  }
}

/** Writes a file atomically (temp name + rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

