// Datasets of camels-gpu: loaders for the real formats (StreamingQA, SQuAD, ArchivalQA, OpenWebText),
// evaluation-stream formation, truncation, and the built-in synthetic dataset. No tensor-engine imports.

export * from './errors.js';
export * from './io.js';
export * from './pytext.js';
export * from './rng.js';
export * from './types.js';
export * from './streamingqa.js';
export * from './squad.js';
export * from './archivalqa.js';
export * from './openwebtext.js';
export * from './stream.js';
export * from './truncate.js';
export * from './synthetic.js';
