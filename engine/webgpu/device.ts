// WebGPU acquisition through Dawn's Node bindings (npm `webgpu`).
//
// Order of attempts: the default adapter of the default Dawn instance (Vulkan/Metal/D3D on machines
// with a GPU driver), then a compatibility-mode adapter (Dawn's OpenGL ES backend over Mesa's
// llvmpipe on machines without a GPU). Returns null, never throws, when nothing is found.
// Dawn facts this file designs around (see shared/design/webgpu-runtime.md): the process does not
// exit while the object from create() is referenced, and a live device keeps a CPU core busy until
// device.destroy(); `releaseWebGPU` drops both. The `webgpu` package (a native addon) is imported
// lazily, so a machine where it cannot load just has no WebGPU.

import fs from 'node:fs';
import path from 'node:path';

type DawnModule = { create: (options: string[]) => GPU; globals: object };

export interface RequestWebGPUOptions {
  powerPreference?: GPUPowerPreference;
  /** Skip the default adapter and go straight to the compatibility (GLES) adapter. */
  forceCompat?: boolean;
  /** Dawn backend name ('vulkan', 'opengles', ...); default from env CAMELS_WEBGPU_BACKEND. */
  backend?: string;
}

export interface WebGPUContext {
  gpu: GPU | null;
  adapter: GPUAdapter | null;
  device: GPUDevice;
  /** 'core' or 'compatibility'. */
  featureLevel: 'core' | 'compatibility';
  /** The Dawn backend option the instance was created with ('default' when none). */
  backendOption: string;
  description: AdapterDescription;
}

export interface AdapterDescription {
  /** Short human-readable name, e.g. "llvmpipe-llvm-15-0-6-256-bits / OpenGL ES 3.2 Mesa 22.3.6". */
  name: string;
  backend: string;
  featureLevel: 'core' | 'compatibility';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  limits: Record<string, number>;
  features: string[];
}

/** Limits requested at the adapter's maximum (the defaults, especially in compat mode, are small). */
const MAX_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

let globalsInstalled = false;

/** Install Dawn's WebGPU globals (GPUBufferUsage, GPUMapMode, ...) into globalThis once. */
function installWebGPUGlobals(globals: object): void {
  if (globalsInstalled) return;
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(globals as Record<string, unknown>)) {
    if (g[k] === undefined) g[k] = v;
  }
  globalsInstalled = true;
}

let dawn: Promise<DawnModule | null> | null = null;

/** The `webgpu` package, or null when its native addon cannot be loaded here. */
function loadDawn(): Promise<DawnModule | null> {
  dawn ??= import('webgpu').then(
    (m) => m as unknown as DawnModule,
    () => null,
  );
  return dawn;
}

function tryCreate(mod: DawnModule, options: string[]): GPU | null {
  try {
    return mod.create(options);
  } catch {
    return null;
  }
}

async function tryAdapter(gpu: GPU, options: GPURequestAdapterOptions): Promise<GPUAdapter | null> {
  try {
    return await gpu.requestAdapter(options);
  } catch {
    return null;
  }
}

function readLimits(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // GPUSupportedLimits exposes its fields as prototype getters.
  let proto: object | null = limits;
  const seen = new Set<string>();
  while (proto && proto !== Object.prototype) {
    for (const k of Object.getOwnPropertyNames(proto)) {
      if (seen.has(k) || k === 'constructor') continue;
      seen.add(k);
      const v = (limits as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') out[k] = v;
    }
    proto = Object.getPrototypeOf(proto);
  }
  return out;
}

/** The context most recently acquired by requestWebGPU (null before any, or after release). */
let current: WebGPUContext | null = null;

/**
 * Dawn's OpenGL ES backend writes two lines to the process's stderr from native code while it
 * creates an adapter ("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced
 * from 90 to 16 to fit dynamic offset allocation limit." and the same for storage buffers). They
 * cannot be filtered from JavaScript (native writes to fd 2); they are harmless here, so the CLI
 * explains them once (DAWN_LIMIT_WARNINGS_NOTE) when this flag says they were printed.
 */
let dawnLimitWarningsPrinted = false;

export const DAWN_LIMIT_WARNINGS_NOTE =
  'note: the two Dawn warnings "max…BuffersPerPipelineLayout artificially reduced … to fit dynamic offset allocation limit" ' +
  "come from Dawn's OpenGL ES backend and are harmless: camels-gpu uses at most 2 dynamic buffers per pipeline layout";

/** Whether Dawn's OpenGL ES adapter was created in this process (so its two start-up warnings went to stderr). */
export function dawnPrintedLimitWarnings(): boolean {
  return dawnLimitWarningsPrinted;
}

/**
 * Backend name, vendor / architecture / description, limits and features of an acquired WebGPU
 * context (default: the current one) for `camels-gpu info`; null when none has been acquired.
 */
export function describeAdapter(ctx: WebGPUContext | null = current): AdapterDescription | null {
  if (!ctx) return null;
  if (ctx.adapter) return describeGpuAdapter(ctx.adapter, ctx.featureLevel, ctx.backendOption, ctx.device);
  return ctx.description;
}

/** Describe an adapter (and the limits/features of its device, when given). */
export function describeGpuAdapter(
  adapter: GPUAdapter,
  featureLevel: 'core' | 'compatibility',
  backendOption: string,
  device?: GPUDevice,
): AdapterDescription {
  const info = adapter.info;
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const dev = info.device ?? '';
  const description = info.description ?? '';
  const backend =
    backendOption !== 'default'
      ? backendOption
      : /opengl es/i.test(description)
        ? 'opengles'
        : /opengl/i.test(description)
          ? 'opengl'
          : process.platform === 'darwin'
            ? 'metal'
            : process.platform === 'win32'
              ? 'd3d12'
              : 'vulkan';
  const shortDesc = description.replace(/^OpenGL version /, '');
  const parts = [(dev || vendor || 'unknown adapter').replace(/-+$/, ''), shortDesc].filter((s) => s.length > 0);
  return {
    name: parts.join(' / '),
    backend,
    featureLevel,
    vendor,
    architecture,
    device: dev,
    description,
    isFallbackAdapter: Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    limits: readLimits(device ? device.limits : adapter.limits),
    features: [...(device ? device.features : adapter.features)].map(String).sort(),
  };
}

async function openDevice(adapter: GPUAdapter): Promise<GPUDevice | null> {
  const requiredLimits: Record<string, number> = {};
  const al = adapter.limits as unknown as Record<string, number>;
  for (const k of MAX_LIMITS) {
    const v = al[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  try {
    return await adapter.requestDevice({ requiredLimits });
  } catch {
    return null;
  }
}

/**
 * Acquire a WebGPU device: default adapter first, then the compatibility (GLES) adapter.
 * Returns null when no adapter works.
 */
export async function requestWebGPU(opts: RequestWebGPUOptions = {}): Promise<WebGPUContext | null> {
  if (process.platform === 'linux') process.env.EGL_PLATFORM ||= 'surfaceless';
  const mod = await loadDawn();
  if (!mod) return null;
  installWebGPUGlobals(mod.globals);
  const envBackend = process.env.CAMELS_WEBGPU_BACKEND?.trim();
  const backend = opts.backend ?? (envBackend ? envBackend : undefined);
  const power: GPURequestAdapterOptions = opts.powerPreference ? { powerPreference: opts.powerPreference } : {};

  // Attempts: [dawn instance options, feature level].
  const attempts: Array<{ options: string[]; backendOption: string; level: 'core' | 'compatibility' }> = [];
  if (backend) {
    const o = [`backend=${backend}`];
    if (!opts.forceCompat) attempts.push({ options: o, backendOption: backend, level: 'core' });
    attempts.push({ options: o, backendOption: backend, level: 'compatibility' });
  } else {
    // Without a Vulkan loader the default instance can only fail (and prints a warning): go straight to GLES.
    if (hasVulkanLoader()) {
      if (!opts.forceCompat) attempts.push({ options: [], backendOption: 'default', level: 'core' });
      attempts.push({ options: [], backendOption: 'default', level: 'compatibility' });
    }
    attempts.push({ options: ['backend=opengles'], backendOption: 'opengles', level: 'compatibility' });
  }

  const instances = new Map<string, GPU | null>();
  for (const at of attempts) {
    const key = at.options.join(',');
    if (!instances.has(key)) instances.set(key, tryCreate(mod, at.options));
    const gpu = instances.get(key);
    if (!gpu) continue;
    const adapter = await tryAdapter(
      gpu,
      at.level === 'compatibility' ? { ...power, featureLevel: 'compatibility' } : power,
    );
    if (!adapter) continue;
    if (at.backendOption === 'opengles' || /opengl/i.test(adapter.info?.description ?? '')) dawnLimitWarningsPrinted = true;
    const device = await openDevice(adapter);
    if (!device) continue;
    const description = describeGpuAdapter(adapter, at.level, at.backendOption, device);
    const warning = glesFallbackWarning(description, backend);
    if (warning) process.stderr.write(`${warning}\n`);
    instances.clear(); // drop the instances that were not chosen
    current = { gpu, adapter, device, featureLevel: at.level, backendOption: at.backendOption, description };
    return current;
  }
  instances.clear();
  return null;
}

/**
 * The warning for a hardware adapter reached through OpenGL ES without being asked for (Vulkan was
 * missing or failed, so the GLES fallback found, say, NVIDIA's GLES driver): such a run works and
 * looks like a GPU run, but in compatibility mode with smaller limits, and its speed says nothing of
 * the GPU. Null for software adapters (llvmpipe is meant to run through GLES) and when the backend
 * was chosen explicitly (`CAMELS_WEBGPU_BACKEND=opengles`).
 */
export function glesFallbackWarning(d: AdapterDescription, explicitBackend: string | undefined): string | null {
  if (explicitBackend) return null;
  if (d.backend !== 'opengles' && d.backend !== 'opengl') return null;
  if (d.isFallbackAdapter || /llvmpipe|lavapipe|softpipe|swiftshader/i.test(`${d.device} ${d.description} ${d.vendor}`)) return null;
  return (
    `webgpu: warning: no Vulkan adapter could be used, so ${d.name} is driven through OpenGL ES ` +
    '(compatibility mode: smaller limits, slower kernels; its timings are not a measure of this GPU). ' +
    'Install or fix the Vulkan driver and loader (libvulkan.so.1), or set CAMELS_WEBGPU_BACKEND=opengles to choose this on purpose.'
  );
}

/** Whether a Vulkan loader library is installed (Linux); elsewhere assume yes. */
function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];
  const extra = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [...extra, ...dirs].some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

/** Destroy the device and drop the Dawn instance so the process can exit. Safe to call twice. */
export function releaseWebGPU(ctx: WebGPUContext): void {
  try {
    ctx.device.destroy();
  } catch {
    // already destroyed or lost
  }
  ctx.adapter = null;
  ctx.gpu = null;
  if (current === ctx) current = null;
}

/** The message for "WebGPU was asked for but none exists". */
export const NO_WEBGPU_HELP =
  'webgpu: no WebGPU adapter found. Install a GPU driver with Vulkan support, or for the software ' +
  'adapter the Debian packages `libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri` ' +
  '(apt-get install -y --no-install-recommends ...); on Linux EGL_PLATFORM=surfaceless is set automatically.';
