// In-place optimizer steps, one thread per element.
// adam_step: PyTorch Adam / AdamW: g = grad * scale; p *= 1 - lr * weight_decay (decoupled, only
// when > 0); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr * (m / bc1) / (sqrt(v / bc2) + eps), bc_i = 1 - b_i^step computed on the host.
// sgd_step: p -= lr * grad * scale. scale = gradScale[0] when has_scale, else 1.

override WG: u32 = 256u;

struct Params {
  n: u32,
  has_scale: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  bc1: f32,
  bc2: f32,
  decay: f32,        // lr * weight_decay (0 = plain Adam)
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

fn grad_scale() -> f32 {
  if (u.has_scale != 0u) { return scale[0]; }
  return 1.0;
}

@compute @workgroup_size(WG)
fn adamStep(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= u.n) { return; }
  let g = grad[i] * grad_scale();
  var p = param[i];
  if (u.decay > 0.0) { p = p * (1.0 - u.decay); }
  let m = u.beta1 * m1[i] + (1.0 - u.beta1) * g;
  let v = u.beta2 * m2[i] + (1.0 - u.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  param[i] = p - u.lr * (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);
}

@compute @workgroup_size(WG)
fn sgdStepInPlace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= u.n) { return; }
  param[i] = param[i] - u.lr * grad[i] * grad_scale();
}
