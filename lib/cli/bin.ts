#!/usr/bin/env node
import { cli } from './main.js';

cli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`rxscale: internal error: ${String(e)}\n`);
    process.exitCode = 2;
  },
);
