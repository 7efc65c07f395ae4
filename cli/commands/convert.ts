// `camels-gpu convert IN OUT [--base MODEL]`: a torch.save checkpoint (or safetensors) to a
// .safetensors file, or — with --base, or when OUT is not a .safetensors path — to a model
// directory with the base model's config and tokenizer.

import { convertToModelDir, convertToSafetensorsFile, type ConvertResult } from '../../models/convert.js';

function summary(r: ConvertResult): string {
  const dt = Object.entries(r.dtypes).map(([d, n]) => `${n} ${d}`).join(', ');
  const skipped = r.skipped.length ? `; skipped ${r.skipped.length} (buffers / tied copies): ${r.skipped.slice(0, 4).join(', ')}${r.skipped.length > 4 ? ', …' : ''}` : '';
  return `wrote ${r.tensors} tensors (${dt}) to ${r.output}${skipped}`;
}

export async function convertCommand(input: string | undefined, output: string | undefined, opts: { base?: string; json?: boolean }): Promise<void> {
  if (!input || !output) throw new Error('convert: usage: camels-gpu convert IN.pt OUT.safetensors | OUT_DIR --base MODEL');
  const toFile = output.endsWith('.safetensors') && !opts.base;
  if (!toFile && !opts.base) throw new Error(`convert: '${output}' is not a .safetensors file; a model directory needs --base MODEL (a directory or hub id giving config.json and the tokenizer)`);
  const r = toFile ? convertToSafetensorsFile(input, output) : await convertToModelDir(input, output, opts.base!);
  console.log(opts.json ? JSON.stringify(r) : summary(r));
}
