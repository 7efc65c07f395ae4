// Counter-based random numbers shared by every backend.
//
// hashU32(seed, i) is a stateless 32-bit hash of (seed, index); the WGSL kernels compute the same
// integer function (shaders/dropoutMask.wgsl), so dropout masks are bit-identical on cpu and webgpu and
// can be replayed from the seed alone. Host-side uniform/normal tensors are generated here in
// float64 and uploaded, so a seed gives the same numbers on both backends.

/** Chris Wellons' "lowbias32" integer finaliser (public-domain hash constants). */
export function mix32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of element index i (u32) under a seed (u32). */
export function hashU32(seed: number, i: number): number {
  return mix32((mix32(seed >>> 0) + (i >>> 0)) >>> 0);
}

/** 24-bit uniform integer in [0, 2^24) for element i: the top 24 bits of the hash. */
export function hashU24(seed: number, i: number): number {
  return hashU32(seed, i) >>> 8;
}

/** Dropout keeps element i when hashU24(seed, i) >= dropThreshold(p). Exact integer compare on all backends. */
export function dropThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  return Math.ceil(p * 16777216);
}

/** Seeded stream of float64 uniforms in [0, 1) (53-bit, from two hashes per draw). */
export class HostRng {
  private counter = 0;
  constructor(private readonly seed: number) {}
  uniform(): number {
    const hi = hashU32(this.seed, this.counter++) >>> 5; // 27 bits
    const lo = hashU32(this.seed ^ 0x9e3779b9, this.counter++) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  /** Standard normal (Box-Muller, one value per call). */
  normal(): number {
    let u = this.uniform();
    while (u <= 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
