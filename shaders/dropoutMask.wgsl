// Dropout keep-mask from the counter hash of engine/random.ts (bit-identical on every backend):
// y[i] = scale when hashU24(seed, i) >= threshold, else 0, with
//   mix32 = Chris Wellons' lowbias32 finaliser, hashU32(seed, i) = mix32(mix32(seed) + i),
//   hashU24 = hashU32 >> 8. u32 arithmetic wraps exactly like the host's Math.imul / >>> 0.

override WG: u32 = 256u;

struct Params {
  n: u32,
  seed: u32,
  threshold: u32,
  scale_bits: u32,   // f32 bits of 1 / (1 - p), rounded on the host
  base: u32,         // index of y[0] in the whole mask (the mask is written in windows when large)
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;

fn mix32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

@compute @workgroup_size(WG)
fn dropoutMask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= u.n) { return; }
  let h = mix32(mix32(u.seed) + u.base + i) >> 8u;
  y[i] = select(0u, u.scale_bits, h >= u.threshold);
}
