// Fill a storage with one 32-bit pattern (the value's f32 or i32 bits): y[i] = bits for i < n,
// four elements per invocation (allocations are multiples of 256 bytes, see elementwise.wgsl).

override WG: u32 = 256u;

struct Params {
  n: u32,
  bits: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn full(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i * 4u < u.n) {
    y[i] = vec4<u32>(u.bits);
  }
}
