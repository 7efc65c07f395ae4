// `camels-gpu bench kernels|model`: prints one line (or JSON object) per case with the machine named.

import { benchKernels } from '../../bench/kernels.js';
import { benchModel } from '../../bench/model.js';
import { setupDevice } from '../device-option.js';
import { intOption, textOption } from '../option-values.js';

export async function benchCommand(what: string, opts: Record<string, unknown>): Promise<void> {
  const json = Boolean(opts.json);
  const repeat = intOption(opts, 'repeat', '--repeat', 'bench', 1) ?? 5;
  const warmup = intOption(opts, 'warmup', '--warmup', 'bench', 0) ?? 1;
  const size = intOption(opts, 'size', '--size', 'bench', 1);
  const batch = intOption(opts, 'batch', '--batch', 'bench', 1) ?? 8;
  const seq = intOption(opts, 'seq', '--seq', 'bench', 1) ?? 256;
  const only = onlyStep(opts.only);
  const backend = await setupDevice(textOption(opts, 'device', '--device', 'bench'));
  if (!json) console.log(`# ${backend.name}: ${backend.adapterName}; node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  if (what === 'kernels') await benchKernels(backend, { json, op: textOption(opts, 'op', '--op', 'bench'), size, repeat });
  else if (what === 'model') await benchModel(backend, { config: textOption(opts, 'config', '--config', 'bench') ?? 'distilgpt2', batch, seq, json, repeat, warmup, only });
  else throw new Error(`bench: unknown benchmark '${what}' (kernels or model)`);
}

function onlyStep(v: unknown): 'train' | 'meta' | undefined {
  if (v === undefined) return undefined;
  if (v === 'train' || v === 'meta') return v;
  throw new Error(`bench model: --only must be train or meta, got '${String(v)}'`);
}
