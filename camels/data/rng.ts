// A small seeded PRNG for dataset shuffles and sampling, independent of the tensor engine.
//
// xoshiro128** (Blackman & Vigna) with its 128-bit state filled by splitmix32 from the seed. Integers in
// [0, n) use rejection sampling, so they are unbiased; shuffles are Fisher-Yates from the last index
// down. This is NOT numpy's MT19937: the reference's pandas `df.sample` and `np.random.shuffle` orders
// (spec §9 item 22) cannot be reproduced with it. Loaders that need the paper's exact streams accept an
// explicit order exported from Python instead (see stream.ts).

/** splitmix32 step: returns [output, nextState]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return [z, next];
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: any finite number; non-integers and values beyond 32 bits are folded into 32 bits. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Prng: seed must be a finite number, got ${seed}`);
    // Fold the high part so that seeds differing only above bit 31 still differ.
    const lo = Math.trunc(seed) >>> 0;
    const hi = Math.trunc(seed / 4294967296) >>> 0;
    let st = (lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
    let out: number;
    [out, st] = splitmix32(st);
    this.s0 = out;
    [out, st] = splitmix32(st);
    this.s1 = out;
    [out, st] = splitmix32(st);
    this.s2 = out;
    [out, st] = splitmix32(st);
    this.s3 = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n), unbiased; n in [1, 2^32]. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new Error(`Prng.nextInt: bad bound ${n}`);
    const limit = 4294967296 - (4294967296 % n); // accept u < limit
    for (;;) {
      const u = this.nextU32();
      if (u < limit) return u % n;
    }
  }

  /** Uniform pick from a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng.pick: empty array');
    return items[this.nextInt(items.length)]!;
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffleInPlace<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffleInPlace(Array.from({ length: n }, (_, i) => i));
  }

  /** k distinct indices from 0..n-1 in random order (a partial Fisher-Yates), like `df.sample(k)`. */
  sampleIndices(n: number, k: number): number[] {
    if (k < 0 || k > n) throw new Error(`Prng.sampleIndices: cannot draw ${k} of ${n}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.nextInt(n - i);
      const tmp = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = tmp;
    }
    return idx.slice(0, k);
  }
}
