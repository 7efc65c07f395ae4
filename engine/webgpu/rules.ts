// The webgpu device's dtype rules for the op table's argument checks (engine/op-table): float32 and
// int32 storages, float32 float kernels, float64 refused with the one message that says to use cpu.

import type { DeviceRules } from '../op-table/index.js';
import { FLOAT64_UNSUPPORTED } from './storage.js';

export const WEBGPU: DeviceRules = {
  device: 'webgpu',
  dtypes: ['float32', 'int32'],
  floats: ['float32'],
  unsupported: (dtype, op) => (dtype === 'float64' ? `${FLOAT64_UNSUPPORTED} (${op})` : `webgpu: ${op}: unknown dtype ${String(dtype)}`),
};
