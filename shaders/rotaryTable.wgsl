// Rotary position tables from int32 positions [n]: out[p, 2i] = out[p, 2i + 1] = cos (fn 0) or
// sin (fn 1) of positions[p] · inv_freq[i], the angle in float32 as Hugging Face's GPT-J computes
// it, reduced to [-π, π] with a two-part 2π (Cody–Waite) before the builtin (whose accuracy is
// only specified there).

override WG: u32 = 256u;

struct Params {
  n_out: u32,
  half: u32,
  fn_: u32,
  _pad: u32,
  inv_freq: array<vec4<f32>, 12>,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> pos: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const TWO_PI_HI: f32 = 6.28125;                 // 201 / 32: k · TWO_PI_HI is exact for |k| < 2^16
const TWO_PI_LO: f32 = 0.0019353071795864769;   // 2π − TWO_PI_HI
const INV_TWO_PI: f32 = 0.15915494309189535;

@compute @workgroup_size(WG)
fn rotaryTable(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * WG + lid;
  if (e >= u.n_out) {
    return;
  }
  let rd = 2u * u.half;
  let p = e / rd;
  let i = (e % rd) / 2u;
  let ang = f32(pos[p]) * u.inv_freq[i / 4u][i % 4u];
  let k = round(ang * INV_TWO_PI);
  let r = (ang - k * TWO_PI_HI) - k * TWO_PI_LO;
  y[e] = select(sin(r), cos(r), u.fn_ == 0u);
}
