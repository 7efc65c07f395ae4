// `camels-gpu bench kernels|model|default`: prints one line (or JSON object) per case with the machine
// named (`default --json` prints only the two workload lines the PyTorch peer's run.sh reads).

import { benchDefault } from '../../bench/default.js';
import { benchKernels } from '../../bench/kernels.js';
import { benchModel } from '../../bench/model.js';
import { setupDevice } from '../device-option.js';

export async function benchCommand(what: string, opts: Record<string, unknown>): Promise<void> {
  const backend = await setupDevice(opts.device as string | undefined);
  const json = Boolean(opts.json);
  const repeat = Number(opts.repeat ?? 5);
  const warmup = Number(opts.warmup ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`bench: --repeat must be a positive integer, got ${String(opts.repeat)}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`bench: --warmup must be a non-negative integer, got ${String(opts.warmup)}`);
  if (!json) console.log(`# ${backend.name}: ${backend.adapterName}; node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  if (what === 'kernels') await benchKernels(backend, { json, op: opts.op as string | undefined, size: opts.size ? Number(opts.size) : undefined, repeat });
  else if (what === 'model') await benchModel(backend, { config: String(opts.config ?? 'distilgpt2'), batch: Number(opts.batch ?? 8), seq: Number(opts.seq ?? 256), json, repeat, warmup, only: onlyStep(opts.only) });
  else if (what === 'default') await benchDefault(backend, { json, repeat: opts.repeat === undefined ? undefined : repeat, warmup: opts.warmup === undefined ? undefined : warmup, only: defaultOnly(opts.only), profile: Boolean(opts.profile) });
  else throw new Error(`bench: unknown benchmark '${what}' (kernels, model or default)`);
}

function onlyStep(v: unknown): 'train' | 'meta' | undefined {
  if (v === undefined) return undefined;
  if (v === 'train' || v === 'meta') return v;
  throw new Error(`bench model: --only must be train or meta, got '${String(v)}'`);
}

function defaultOnly(v: unknown): 'pretrain' | 'meta' | undefined {
  if (v === undefined) return undefined;
  if (v === 'pretrain' || v === 'meta') return v;
  throw new Error(`bench default: --only must be pretrain or meta, got '${String(v)}'`);
}
