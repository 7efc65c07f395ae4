// `camels-gpu bench kernels|model|default|reference`: prints one line (or JSON object) per case with the machine
// named (`default --json` prints only the two workload lines the PyTorch peer's run.sh reads).

import { benchDefault } from '../../bench/default.js';
import { benchKernels } from '../../bench/kernels.js';
import { benchModel } from '../../bench/model.js';
import { benchReference } from '../../bench/reference-steps.js';
import { setupDevice } from '../device-option.js';
import { intOption, textOption } from '../option-values.js';

export async function benchCommand(what: string, opts: Record<string, unknown>): Promise<void> {
  const json = Boolean(opts.json);
  // bench default has its own repeat / warmup defaults (those of the PyTorch peer).
  const repeatGiven = intOption(opts, 'repeat', '--repeat', 'bench', 1);
  const warmupGiven = intOption(opts, 'warmup', '--warmup', 'bench', 0);
  const repeat = repeatGiven ?? 5;
  const warmup = warmupGiven ?? 1;
  const size = intOption(opts, 'size', '--size', 'bench', 1);
  const batch = intOption(opts, 'batch', '--batch', 'bench', 1) ?? 8;
  const seq = intOption(opts, 'seq', '--seq', 'bench', 1) ?? 256;
  const only = what === 'model' ? onlyStep(opts.only) : undefined;
  const referenceStep = what === 'reference' ? referenceOnly(opts.only) : undefined;
  const defaultStep = what === 'default' ? defaultOnly(opts.only) : undefined;
  const backend = await setupDevice(textOption(opts, 'device', '--device', 'bench'));
  if (!json) console.log(`# ${backend.name}: ${backend.adapterName}; node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  if (what === 'kernels') await benchKernels(backend, { json, op: textOption(opts, 'op', '--op', 'bench'), size, repeat });
  else if (what === 'model') await benchModel(backend, { config: textOption(opts, 'config', '--config', 'bench') ?? 'distilgpt2', batch, seq, json, repeat, warmup, only, countOnly: Boolean(opts.countOnly) });
  else if (what === 'default') await benchDefault(backend, { json, repeat: repeatGiven, warmup: warmupGiven, only: defaultStep, profile: Boolean(opts.profile) });
  else if (what === 'reference') await benchReference(backend, { json, repeat, warmup, only: referenceStep, quick: Boolean(opts.quick) });
  else throw new Error(`bench: unknown benchmark '${what}' (kernels, model, default or reference)`);
}

function onlyStep(v: unknown): 'train' | 'meta' | undefined {
  if (v === undefined) return undefined;
  if (v === 'train' || v === 'meta') return v;
  throw new Error(`bench model: --only must be train or meta, got '${String(v)}'`);
}

function referenceOnly(v: unknown): 'outer' | 'adapt' | undefined {
  if (v === undefined) return undefined;
  if (v === 'outer' || v === 'adapt') return v;
  throw new Error(`bench reference: --only must be outer or adapt, got '${String(v)}'`);
}

function defaultOnly(v: unknown): 'pretrain' | 'meta' | undefined {
  if (v === undefined) return undefined;
  if (v === 'pretrain' || v === 'meta') return v;
  throw new Error(`bench default: --only must be pretrain or meta, got '${String(v)}'`);
}
