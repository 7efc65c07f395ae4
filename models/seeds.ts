// Deterministic per-site dropout seeds: one base seed per step, mixed with a fixed site number, so
// every dropout mask of a forward pass can be replayed exactly (CaMeLS adapts with dropout on).

import { mix32 } from '../engine/random.js';

export function mixSeed(seed: number, site: number): number {
  return mix32((mix32(seed >>> 0) ^ Math.imul(site + 1, 0x9e3779b1)) >>> 0);
}
