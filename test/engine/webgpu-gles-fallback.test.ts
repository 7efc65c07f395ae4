// A hardware adapter reached through OpenGL ES without being asked for (Vulkan missing or failing)
// is announced on stderr, so such a run cannot pass for a GPU run; llvmpipe through GLES (the CI
// adapter) and an explicit CAMELS_WEBGPU_BACKEND=opengles are not.

import { describe, expect, it } from 'vitest';
import { glesFallbackWarning, type AdapterDescription } from '../../engine/webgpu/device.js';

function adapter(over: Partial<AdapterDescription>): AdapterDescription {
  return {
    name: 'x',
    backend: 'vulkan',
    featureLevel: 'core',
    vendor: '',
    architecture: '',
    device: '',
    description: '',
    isFallbackAdapter: false,
    limits: {},
    features: [],
    ...over,
  };
}

describe('the OpenGL ES fallback warning', () => {
  const nvidiaGles = adapter({ name: 'NVIDIA H200 / OpenGL ES 3.2 NVIDIA 570.86', backend: 'opengles', featureLevel: 'compatibility', vendor: 'nvidia', description: 'OpenGL ES 3.2 NVIDIA 570.86' });

  it('names the adapter, the cause and the two ways out for NVIDIA through GLES', () => {
    const w = glesFallbackWarning(nvidiaGles, undefined);
    expect(w).toContain('NVIDIA H200');
    expect(w).toContain('no Vulkan adapter could be used');
    expect(w).toContain('libvulkan.so.1');
    expect(w).toContain('CAMELS_WEBGPU_BACKEND=opengles');
  });

  it('is silent for Vulkan, for llvmpipe through GLES and for an explicit backend', () => {
    expect(glesFallbackWarning(adapter({ name: 'NVIDIA H200', backend: 'vulkan', vendor: 'nvidia' }), undefined)).toBeNull();
    expect(glesFallbackWarning(adapter({ name: 'llvmpipe / OpenGL ES 3.2 Mesa', backend: 'opengles', device: 'llvmpipe-llvm-15-0-6-256-bits', description: 'OpenGL ES 3.2 Mesa 22.3.6' }), undefined)).toBeNull();
    expect(glesFallbackWarning(nvidiaGles, 'opengles')).toBeNull();
  });
});
