// Opening weights wherever they are: one state-dict file (safetensors, or a torch.save file such as
// the reference's best_nll.pt / run.py checkpoints / HF's pytorch_model.bin), or a model directory's
// checkpoint (model.safetensors, its sharded index, else pytorch_model.bin). Everything comes back
// as a TensorSource, so the parameter mapping is the same for every format.

import fs from 'node:fs';
import path from 'node:path';
import { INDEX_FILE_NAME, openCheckpoint, openSafetensors, SINGLE_FILE_NAME, type TensorSource } from './safetensors.js';
import { openTorchCheckpoint } from './torch-checkpoint/state-dict.js';

/** HF's name for a torch.save checkpoint in a model directory. */
export const TORCH_WEIGHTS_NAME = 'pytorch_model.bin';

/** True when the file starts like a torch.save file: a zip archive ("PK\3\4") or a pickle (PROTO 0x80). */
function looksLikeTorch(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const n = fs.readSync(fd, b, 0, 4, 0);
    return (n === 4 && b.readUInt32LE(0) === 0x04034b50) || (n >= 1 && b[0] === 0x80);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Open one state-dict file: `.safetensors` as safetensors, anything else that looks like a
 * torch.save file (.pt, .pth, .bin, .ckpt) with the restricted torch reader.
 */
export function loadStateDictFile(file: string): TensorSource {
  if (!fs.existsSync(file)) throw new Error(`state dict '${file}' not found`);
  if (fs.statSync(file).isDirectory()) throw new Error(`state dict '${file}' is a directory; pass the file (e.g. ${path.join(file, SINGLE_FILE_NAME)}), or pass the directory as the model`);
  if (file.endsWith('.safetensors')) return openSafetensors(file);
  if (looksLikeTorch(file)) return openTorchCheckpoint(file);
  throw new Error(`state dict '${file}': neither a .safetensors file nor a torch.save file (zip or pickle)`);
}

/** The weights of a model directory: safetensors (single or sharded) first, then pytorch_model.bin. */
export function openModelWeights(dir: string): TensorSource {
  if (fs.existsSync(path.join(dir, SINGLE_FILE_NAME)) || fs.existsSync(path.join(dir, INDEX_FILE_NAME))) return openCheckpoint(dir);
  const bin = path.join(dir, TORCH_WEIGHTS_NAME);
  if (fs.existsSync(bin)) return openTorchCheckpoint(bin);
  throw new Error(`model directory '${dir}' has no weights: looked for ${SINGLE_FILE_NAME}, ${INDEX_FILE_NAME} and ${TORCH_WEIGHTS_NAME}`);
}
