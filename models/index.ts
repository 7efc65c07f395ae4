// camels-gpu/models: GPT-2 / GPT-Neo / GPT-J from Hugging Face checkpoints — loading (directories,
// hub ids through the Hugging Face cache, PyTorch checkpoints), saving, forward passes, generation,
// the tokenizer, safetensors and torch.save readers, and checkpoint conversion.

export * from './hf-config.js';
export * from './gpt.js';
export * from './pretrained.js';
export * from './model-source.js';
export * from './generate.js';
export * from './tokenizer.js';
export * from './safetensors.js';
export * from './weights-file.js';
export * from './convert.js';
export { paramSpecs, isIgnorableBuffer, mlpSize, type ParamSpec } from './param-names.js';
export { openTorchCheckpoint, collectStateDict, TorchStateDict, type TorchTensorInfo } from './torch-checkpoint/state-dict.js';
export { openTorchFile, TorchCheckpointError, type TorchFile } from './torch-checkpoint/torch-file.js';
export { TorchTensorRef, type TorchDtype } from './torch-checkpoint/torch-globals.js';
export { UnpicklingError } from './torch-checkpoint/unpickler.js';
export { hubCacheDir, hubOffline, looksLikeHubId, parseHubId, cachedSnapshot, type HubId } from './hub/cache.js';
export { resolveHubModel } from './hub/resolve.js';
export { HubError, type HubErrorKind } from './hub/errors.js';
export { trainByteLevelBpe, writeTokenizerDir, type TrainByteLevelBpeOptions } from './bpe-trainer.js';
