// Device selection: the cpu backend is always there; webgpu is created on demand (async, once).
// The cpu device is the fast path (engine/cpu-fast) or, with CAMELS_CPU_KERNELS=reference, the
// plain reference loops (engine/cpu).
//
// Order for 'auto': CAMELS_DEVICE if set, else webgpu when an adapter exists (default adapter, then
// the GLES compatibility adapter of software GPUs), else cpu. Asking for webgpu explicitly when none
// exists is an error that says how to get one.

import type { Backend, DeviceName } from './backend.js';
import { CpuBackend } from './cpu/index.js';
import { FastCpuBackend } from './cpu-fast/index.js';

export type DeviceRequest = DeviceName | 'auto';

const backends = new Map<DeviceName, Backend>();
let defaultDevice: DeviceName = 'cpu';
let webgpuProbe: Promise<Backend | null> | null = null;

/**
 * The cpu device: the fast path (WebAssembly SIMD float32 kernels over the reference) unless
 * CAMELS_CPU_KERNELS=reference asks for the plain reference loops for every dtype.
 */
function createCpuBackend(): Backend {
  const kernels = process.env.CAMELS_CPU_KERNELS ?? 'fast';
  if (kernels === 'reference') return new CpuBackend();
  if (kernels === 'fast' || kernels === '') return new FastCpuBackend();
  throw new Error(`CAMELS_CPU_KERNELS: expected 'fast' or 'reference', got '${kernels}'`);
}

backends.set('cpu', createCpuBackend());

export const WEBGPU_HELP =
  'No WebGPU adapter was found. On a machine with a GPU, install its Vulkan driver (NVIDIA: the driver ' +
  'plus libvulkan1). On a machine without one, install the software adapter: ' +
  '`apt-get install -y libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri` (Mesa llvmpipe through OpenGL ES). ' +
  'Or run with --device cpu.';

async function createWebGPU(): Promise<Backend | null> {
  const mod = await import('./webgpu/index.js');
  return mod.createWebGPUBackend();
}

/** Try to create the webgpu backend once; resolves null when no adapter exists. */
export function probeWebGPU(): Promise<Backend | null> {
  if (!webgpuProbe) {
    webgpuProbe = createWebGPU().then((b) => {
      if (b) backends.set('webgpu', b);
      return b;
    });
  }
  return webgpuProbe;
}

function parseRequest(req: string, source: string): DeviceRequest {
  if (req === 'cpu' || req === 'webgpu' || req === 'auto') return req;
  throw new Error(`${source}: unknown device '${req}' (expected cpu, webgpu or auto)`);
}

/**
 * Resolve and initialise a device, and make it the default for new tensors.
 * `request` defaults to CAMELS_DEVICE, then 'auto'.
 */
export async function initDevice(request?: string): Promise<Backend> {
  const env = process.env.CAMELS_DEVICE;
  const req = request !== undefined ? parseRequest(request, '--device') : env ? parseRequest(env, 'CAMELS_DEVICE') : 'auto';
  let backend: Backend;
  if (req === 'cpu') {
    backend = backends.get('cpu')!;
  } else {
    const gpu = await probeWebGPU();
    if (gpu) backend = gpu;
    else if (req === 'webgpu') throw new Error(`webgpu requested but unavailable. ${WEBGPU_HELP}`);
    else backend = backends.get('cpu')!;
  }
  defaultDevice = backend.name;
  return backend;
}

/** The backend for a device name (webgpu must have been initialised with initDevice/probeWebGPU). */
export function getBackend(device?: DeviceName): Backend {
  const name = device ?? defaultDevice;
  const b = backends.get(name);
  if (!b) {
    throw new Error(
      name === 'webgpu'
        ? 'webgpu backend not initialised: call `await initDevice("webgpu")` first'
        : `unknown device '${name}'`,
    );
  }
  return b;
}

export function defaultDeviceName(): DeviceName {
  return defaultDevice;
}

export function setDefaultDevice(name: DeviceName): void {
  getBackend(name);
  defaultDevice = name;
}

/** Release GPU devices so the process can exit (Dawn keeps it alive otherwise). */
export function shutdownDevices(): void {
  const gpu = backends.get('webgpu') as (Backend & { destroy?: () => void }) | undefined;
  if (gpu?.destroy) gpu.destroy();
  backends.delete('webgpu');
  webgpuProbe = null;
  if (defaultDevice === 'webgpu') defaultDevice = 'cpu';
}
