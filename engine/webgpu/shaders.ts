// Loads WGSL kernel files from the package's shaders/ folder at run time.
//
// The folder is found by walking up from this module's URL to the directory holding package.json,
// so the same code works from engine/webgpu/*.ts (vitest, tsx) and dist/engine/webgpu/*.js (tsc).
// The only text changes made to a shader are here: a prelude of `alias` lines that fixes element
// types (f32 / i32), and the elementwise op body that replaces the `//OP_BODY` marker.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let shaderDir: string | null = null;
const sources = new Map<string, string>();

/** Absolute path of the package's shaders/ folder. */
export function shadersDir(): string {
  if (shaderDir) return shaderDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'shaders'))) {
      shaderDir = join(dir, 'shaders');
      return shaderDir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`webgpu: cannot find the shaders/ folder above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Raw text of shaders/<file>. */
export function shaderSource(file: string): string {
  let s = sources.get(file);
  if (s === undefined) {
    s = readFileSync(join(shadersDir(), file), 'utf8');
    sources.set(file, s);
  }
  return s;
}

const OP_MARKER = '//OP_BODY';

/**
 * Shader text with element-type aliases prepended (e.g. { T: 'f32' }) and, for elementwise.wgsl,
 * the op body substituted at the single `//OP_BODY` marker.
 */
export function shaderText(file: string, aliases: Record<string, 'f32' | 'i32' | 'u32'> = {}, opBody?: string): string {
  let text = shaderSource(file);
  if (opBody !== undefined) {
    const at = text.indexOf(OP_MARKER);
    if (at < 0) throw new Error(`webgpu: ${file} has no ${OP_MARKER} marker`);
    text = text.slice(0, at) + opBody + text.slice(at + OP_MARKER.length);
  }
  const prelude = Object.entries(aliases)
    .map(([name, ty]) => `alias ${name} = ${ty};\n`)
    .join('');
  return prelude + text;
}
