// Position kernels: ranges made on the device in place of uploaded position ids, and the rotary
// cos / sin tables of int32 positions. T (f32 or i32) is the element type of arange's output.

override WG: u32 = 256u;

struct RangeParams {
  n: u32,
  period: u32,
  first: u32,
  _pad: u32,
  start_i: i32,
  step_i: i32,
  start_f: f32,
  step_f: f32,
}

@group(0) @binding(0) var<uniform> u: RangeParams;
@group(0) @binding(1) var<storage, read_write> y: array<T>;

fn index_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// y[i] = start + ((first + i) mod period) * step, int32.
@compute @workgroup_size(WG)
fn arangeInt32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = index_of(wid, nwg, lid);
  if (i < u.n) {
    y[i] = T(u.start_i + i32((u.first + i) % u.period) * u.step_i);
  }
}

// The same in float32.
@compute @workgroup_size(WG)
fn arangeFloat32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = index_of(wid, nwg, lid);
  if (i < u.n) {
    y[i] = T(u.start_f + f32((u.first + i) % u.period) * u.step_f);
  }
}
