import { addon, loadAddon } from './loader.js';

export interface NativeInfo {
  blas: 'mkl' | 'openblas' | 'builtin';
  blasVersion: string;
  threads: number;
  simd: string;
  cuda: false | { devices: number; [k: string]: unknown };
  napiVersion: number;
  addonPath: string;
}

/** Typed mirror of the addon's info exports. */
export interface InfoNative {
  setErrorClass(cls: unknown): void;
  nativeInfo(): Omit<NativeInfo, 'addonPath'>;
  setNumThreads(n: number): number;
}
export const infoExports = ['setErrorClass', 'nativeInfo', 'setNumThreads'] as const satisfies readonly (keyof InfoNative)[];

const info = () => addon<InfoNative>();

/** Reports the native build: BLAS vendor and version, thread budget, SIMD level, CUDA. */
export function rxNativeInfo(): NativeInfo {
  return { ...info().nativeInfo(), addonPath: loadAddon().path };
}

export function setNativeThreads(n: number): number {
  return info().setNumThreads(n);
}
