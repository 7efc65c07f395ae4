// Checkpoints as one unit: everything a resume needs (weights, optimizer state, step counters and
// data position, metrics length) is written into a new directory under a temporary name, fsynced,
// renamed into place, and only then does the `latest` pointer switch to it. A kill at any instant
// leaves the old or the new checkpoint, never a mix; stray temporaries are removed on the next start.

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { openSafetensors, writeSafetensors } from '../../models/safetensors.js';
import { fsyncTree, removeStrayTemporaries, writeAtomic } from './atomic-files.js';
import { crashPoint } from './crash-points.js';
import { countNonFinite } from './guards.js';

const POINTER = 'latest';
const PREFIX = 'ckpt-';

export class CheckpointStore {
  constructor(readonly root: string) {}

  /** Remove what a killed writer left behind (temporaries, a superseded checkpoint); returns the names removed. */
  recover(): string[] {
    const removed = removeStrayTemporaries(this.root);
    const latest = this.latest();
    if (latest) {
      for (const n of fs.readdirSync(this.root)) {
        if (n.startsWith(PREFIX) && n !== path.basename(latest)) {
          fs.rmSync(path.join(this.root, n), { recursive: true, force: true });
          removed.push(n);
        }
      }
    }
    return removed;
  }

  /** The directory `latest` points to, or null before the first checkpoint. */
  latest(): string | null {
    const p = path.join(this.root, POINTER);
    if (!fs.existsSync(p)) return null;
    const name = fs.readFileSync(p, 'utf8').trim();
    const dir = path.join(this.root, name);
    if (!name.startsWith(PREFIX) || !fs.existsSync(path.join(dir, 'state.json'))) throw new Error(`checkpoint pointer ${p} names '${name}', which is not a complete checkpoint directory`);
    return dir;
  }

  /** Write a new checkpoint with `write(tmpDir)` and make it the latest; returns its directory. */
  async commit(write: (tmpDir: string) => Promise<void>): Promise<string> {
    fs.mkdirSync(this.root, { recursive: true });
    const seq = fs.readdirSync(this.root).filter((n) => n.startsWith(PREFIX)).map((n) => Number(n.slice(PREFIX.length))).filter(Number.isFinite);
    const name = `${PREFIX}${String(Math.max(0, ...seq) + 1).padStart(6, '0')}`;
    const tmp = path.join(this.root, `.${name}.tmp-${process.pid}`);
    fs.mkdirSync(tmp);
    await write(tmp);
    crashPoint('checkpoint:files-written');
    fsyncTree(tmp);
    const dir = path.join(this.root, name);
    fs.renameSync(tmp, dir);
    crashPoint('checkpoint:before-pointer');
    writeAtomic(path.join(this.root, POINTER), name + '\n');
    crashPoint('checkpoint:after-pointer');
    for (const n of fs.readdirSync(this.root)) if (n.startsWith(PREFIX) && n !== name) fs.rmSync(path.join(this.root, n), { recursive: true, force: true });
    return dir;
  }
}

/** Host copies of tensors, refusing any non-finite value (a checkpoint of a diverged run is never written). */
export async function hostTensors(tensors: Record<string, Tensor>, what: string): Promise<Record<string, { dtype: 'float32' | 'float64'; shape: number[]; data: Float32Array | Float64Array }>> {
  const out: Record<string, { dtype: 'float32' | 'float64'; shape: number[]; data: Float32Array | Float64Array }> = {};
  for (const [k, t] of Object.entries(tensors)) {
    const d = await t.data();
    const data = d instanceof Float64Array ? d : d instanceof Float32Array ? d : Float32Array.from(d);
    const bad = countNonFinite(data);
    if (bad > 0) throw new Error(`refusing to write ${what}: tensor '${k}' has ${bad} non-finite value(s) of ${data.length}`);
    out[k] = { dtype: data instanceof Float64Array ? 'float64' : 'float32', shape: [...t.shape], data };
  }
  return out;
}

/** Save named tensors as safetensors (non-finite values refused). */
export async function saveTensorFile(file: string, tensors: Record<string, Tensor>, what: string, metadata: Record<string, string> = {}): Promise<void> {
  writeSafetensors(file, await hostTensors(tensors, what), metadata);
}

/** Read named tensors of a saved file onto the device of `like` (same shapes, dtypes), kept alive. */
export function loadTensorFile(file: string, like: Record<string, Tensor>, opts: { requiresGrad?: boolean } = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const f = openSafetensors(file);
  try {
    const tensors: Record<string, Tensor> = {};
    for (const [k, old] of Object.entries(like)) {
      if (!f.has(k)) throw new Error(`checkpoint ${file}: missing tensor '${k}'`);
      const data = old.dtype === 'float64' ? f.readAsFloat64(k) : f.readAsFloat32(k);
      if (data.length !== old.size) throw new Error(`checkpoint ${file}: tensor '${k}' has ${data.length} values, expected ${old.size}`);
      tensors[k] = E.keep(E.tensor(data, old.shape, { device: old.device, dtype: old.dtype, requiresGrad: opts.requiresGrad ?? old.requiresGrad, name: old.name ?? k }));
    }
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    f.close();
  }
}

/** Adam's moments and step count as one file. */
export async function saveAdamState(file: string, opt: E.Adam, names: string[]): Promise<void> {
  const t: Record<string, Tensor> = {};
  names.forEach((n, i) => {
    t[`m.${n}`] = opt.m[i]!;
    t[`v.${n}`] = opt.v[i]!;
  });
  await saveTensorFile(file, t, 'the optimizer state', { step: String(opt.stepCount) });
}

export function loadAdamState(file: string, opt: E.Adam, names: string[]): void {
  const like: Record<string, Tensor> = {};
  names.forEach((n, i) => {
    like[`m.${n}`] = opt.m[i]!;
    like[`v.${n}`] = opt.v[i]!;
  });
  const { tensors, metadata } = loadTensorFile(file, like, { requiresGrad: false });
  names.forEach((n, i) => {
    opt.m[i]!.dispose();
    opt.v[i]!.dispose();
    opt.m[i] = tensors[`m.${n}`]!;
    opt.v[i] = tensors[`v.${n}`]!;
  });
  opt.stepCount = Number(metadata.step ?? 0);
}
