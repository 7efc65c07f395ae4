// Every engine op, in one import.
export * from './creation.js';
export * from './elementwise.js';
export * from './movement.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './indexing.js';
export * from './fused.js';
export * from './nn.js';
export * from './positions.js';
export * from './topk.js';
