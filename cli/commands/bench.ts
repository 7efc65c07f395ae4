// `camels-gpu bench kernels|model`: prints one line (or JSON object) per case with the machine named.

import { benchKernels } from '../../bench/kernels.js';
import { benchModel } from '../../bench/model.js';
import { setupDevice } from '../device-option.js';

export async function benchCommand(what: string, opts: Record<string, unknown>): Promise<void> {
  const backend = await setupDevice(opts.device as string | undefined);
  const json = Boolean(opts.json);
  const repeat = Number(opts.repeat ?? 5);
  if (!json) console.log(`# ${backend.name}: ${backend.adapterName}; node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  if (what === 'kernels') await benchKernels(backend, { json, op: opts.op as string | undefined, size: opts.size ? Number(opts.size) : undefined, repeat });
  else if (what === 'model') await benchModel(backend, { config: String(opts.config ?? 'distilgpt2'), batch: Number(opts.batch ?? 8), seq: Number(opts.seq ?? 256), json, repeat });
  else throw new Error(`bench: unknown benchmark '${what}' (kernels or model)`);
}
