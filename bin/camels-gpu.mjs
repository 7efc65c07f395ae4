#!/usr/bin/env node
// camels-gpu command-line entry: runs the compiled CLI (dist/, built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('camels-gpu: dist/ is missing; run `npm run build` (npm ci does it automatically)');
  process.exit(1);
}
await import(main.href);
