// Packaging: the npm tarball ships a prebuilt addon with OpenBLAS linked statically, and an
// installed copy loads it with no cmake/compiler on PATH.
//
// Offline by design: a real `npm install <tarball>` needs the registry (or a warm npm cache;
// `npm install --offline --ignore-scripts <tgz>` works here from the cache but takes minutes),
// so the test unpacks the tarball exactly as npm lays it out (node_modules/rxscale) and points
// its node_modules at this checkout's dependencies with a symlink. It then runs the package's
// own install hook (scripts/install.mjs) and loads the addon in a child process whose PATH
// contains only `node`. Set RXSCALE_PACK_NPM_INSTALL=1 to use `npm install --offline` instead.
// The package is packed from a staged copy of the checkout: the prebuilt binary is built
// (incremental `build-native.mjs --prebuild`, as `npm run prebuild`) straight into the stage,
// never into this checkout's prebuilds/, which the loader would prefer over build/Release
// for every other test running meanwhile.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const platformDir = `${process.platform}-${process.arch}`;
const work = mkdtempSync(join(tmpdir(), 'rxscale-pack-'));
const stage = join(work, 'stage');
const prebuilt = join(stage, 'prebuilds', platformDir, 'rxscale.node');
const skipTop = new Set(['node_modules', '.git', 'prebuilds', 'build', 'coverage', 'tmp']);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? root, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeout ?? 120_000, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

describe('npm package', () => {
  it('prebuild is statically linked: no libopenblas/libgfortran runtime dependency', () => {
    if (!existsSync(join(root, 'dist', 'lib', 'index.js'))) {
      run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { timeout: 300_000 });
    }
    mkdirSync(stage);
    for (const e of readdirSync(root)) {
      if (skipTop.has(e) || e.startsWith('build-') || e.endsWith('.tgz')) continue;
      cpSync(join(root, e), join(stage, e), { recursive: true });
    }
    const b = run(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--prebuild', '--dest', dirname(prebuilt)], { timeout: 900_000 });
    expect(b.status, b.stderr).toBe(0);
    expect(existsSync(prebuilt)).toBe(true);
    const ldd = run('ldd', [prebuilt]);
    if (ldd.error) return; // no ldd on this system: the load test below still runs
    expect(ldd.stdout).not.toMatch(/libopenblas|libgfortran|libquadmath|libblas|liblapack|libstdc\+\+/);
  }, 900_000);

  it('packs, unpacks into an empty project and loads the prebuilt with no cmake on PATH', () => {
    expect(existsSync(join(stage, 'dist', 'lib', 'index.js'))).toBe(true);
    expect(existsSync(prebuilt)).toBe(true);
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: stage, timeout: 300_000 });
    expect(pack.status, pack.stderr).toBe(0);
    const manifest = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = manifest[0].files.map((f) => f.path);
    expect(files).toContain(`prebuilds/${platformDir}/rxscale.node`);
    expect(files).toContain('dist/lib/index.js');
    expect(files).toContain('dist/lib/native/loader.js');
    expect(files).toContain('scripts/install.mjs');
    expect(files).toContain('CMakeLists.txt');
    expect(files).toContain('native/cmake/blas.cmake');
    expect(files.some((f) => f.startsWith('build/') || f.startsWith('test/') || f.startsWith('node_modules/'))).toBe(false);
    const tgz = join(packDir, manifest[0].filename);

    const proj = join(work, 'proj');
    mkdirSync(join(proj, 'node_modules'), { recursive: true });
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'rxscale-pack-check', version: '1.0.0', private: true, type: 'module' }));
    const pkg = join(proj, 'node_modules', 'rxscale');
    if (process.env.RXSCALE_PACK_NPM_INSTALL === '1') {
      const inst = run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tgz], { cwd: proj, timeout: 900_000 });
      expect(inst.status, inst.stderr).toBe(0);
    } else {
      mkdirSync(pkg);
      const tar = run('tar', ['-xzf', tgz, '-C', pkg, '--strip-components=1']);
      expect(tar.status, tar.stderr).toBe(0);
      symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    }

    // A bin dir with node only: no cmake, no compiler, no npm.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const env: NodeJS.ProcessEnv = { PATH: bin, HOME: work, LANG: 'C' };

    // The npm install hook with no cmake: uses the prebuilt, builds nothing.
    const hook = run(join(bin, 'node'), [join(pkg, 'scripts', 'install.mjs')], { cwd: pkg, env });
    expect(hook.status, hook.stdout + hook.stderr).toBe(0);
    expect(hook.stdout).toMatch(/using prebuilt binary/);

    writeFileSync(
      join(proj, 'check.mjs'),
      [
        "import { spawnSync } from 'node:child_process';",
        "const cmake = spawnSync('cmake', ['--version']);",
        "const { rxNativeInfo } = await import('rxscale');",
        'console.log(JSON.stringify({ cmakeError: cmake.error ? cmake.error.code : null, info: rxNativeInfo() }));',
      ].join('\n'),
    );
    const chk = run(join(bin, 'node'), ['check.mjs'], { cwd: proj, env });
    expect(chk.status, chk.stderr).toBe(0);
    const out = JSON.parse(chk.stdout.trim().split('\n').pop() as string) as { cmakeError: string | null; info: { blas: string; addonPath: string; blasVersion: string } };
    expect(out.cmakeError).toBe('ENOENT');
    expect(out.info.blas).toBe('openblas');
    expect(out.info.blasVersion).toMatch(/OpenBLAS/);
    expect(out.info.addonPath).toBe(join(pkg, 'prebuilds', platformDir, 'rxscale.node'));
  }, 900_000);
});
