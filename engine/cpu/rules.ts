// The cpu device's dtype rules for the op table's argument checks (engine/op-table): every dtype,
// float kernels in float32 and float64 (the reference computes float64 throughout).

import type { DeviceRules } from '../op-table/index.js';

export const CPU: DeviceRules = {
  device: 'cpu',
  dtypes: ['float32', 'float64', 'int32'],
  floats: ['float32', 'float64'],
  unsupported: (dtype, op) => `cpu ${op}: unknown dtype '${String(dtype)}'`,
};
