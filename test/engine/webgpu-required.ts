// Test helper: get a backend for a device. WebGPU tests fail (never skip) when
// CAMELS_REQUIRE_WEBGPU=1 and no adapter exists; otherwise they are skipped with a note.

import * as E from '../../engine/index.js';
import type { Backend } from '../../engine/index.js';

export async function deviceUnderTest(device: 'cpu' | 'webgpu'): Promise<Backend | null> {
  if (device === 'cpu') return E.getBackend('cpu');
  const gpu = await E.probeWebGPU();
  if (!gpu) {
    if (process.env.CAMELS_REQUIRE_WEBGPU === '1') throw new Error(`CAMELS_REQUIRE_WEBGPU=1 but ${E.WEBGPU_HELP}`);
    console.warn('webgpu: no adapter, test skipped (set CAMELS_REQUIRE_WEBGPU=1 to make this an error)');
    return null;
  }
  return gpu;
}
