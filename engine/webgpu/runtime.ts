// The WebGPU command runtime: batching, pipelines, bind groups, uniforms, buffers, readback.
//
// All dispatches are recorded into one command encoder and one compute pass until a readback,
// `sync`, or a batch limit (FLUSH_DISPATCHES dispatches, so the device starts on the first ones while
// the host records the rest); then the pass is ended and the encoder submitted. Per-dispatch parameters live in one uniform ring buffer of 256-byte slots
// bound with a dynamic offset, filled on the CPU and written with one queue.writeBuffer just before
// the submit. Pipelines are cached by (file, entry, aliases, op body, override constants) and bind
// groups by (pipeline, buffers). Nothing here reads back except `read`.

import { BufferPool, GpuBuffer, sizeClass } from './pool.js';
import { shaderText } from './shaders.js';

/**
 * Binding kinds after the uniform at binding 0: 'r' read-only storage, 'w' read_write storage,
 * 'u' a uniform window of `Runtime.windowBytes` with a dynamic offset, '-' unused.
 */
export interface KernelSpec {
  file: string;
  entry: string;
  bindings: string;
  aliases?: Record<string, 'f32' | 'i32' | 'u32'>;
  opBody?: string;
  constants?: Record<string, number | boolean>;
}

/** A window of a buffer bound to one binding (offsets 256-byte aligned, see windows.ts). */
export interface BufferRange {
  readonly buf: GpuBuffer;
  /** Byte offset (a multiple of 256). */
  readonly offset: number;
  /** Bytes bound (a multiple of 4). */
  readonly size: number;
}

/** What a kernel binding receives: a whole buffer, or a window of one. */
export type Binding = GpuBuffer | BufferRange;

/** The buffer behind a binding. */
export function bufferOf(b: Binding): GpuBuffer {
  return b instanceof GpuBuffer ? b : b.buf;
}

/** Bytes a binding exposes to the kernel. */
export function bindingBytes(b: Binding): number {
  return b instanceof GpuBuffer ? b.bytes : b.size;
}

export interface Kernel {
  readonly id: number;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bindings: string;
  readonly name: string;
}

const SLOT_BYTES = 256;
/** Dispatches per submit: the queue gets work every ~100 dispatches instead of once per step. */
export const FLUSH_DISPATCHES = 100;
const RING_SLOTS = 256;
/** Bind groups kept (a GPT-2 meta step has a few thousand distinct ones); the cache is dropped when full. */
const MAX_BIND_GROUPS = 32768;

/** Sequential writer of one uniform slot; 4-byte scalars, vec4 arrays 16-byte aligned. */
export class UniformWriter {
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  private pos = 0;
  private end = 0;
  constructor(buf: ArrayBuffer) {
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.f32 = new Float32Array(buf);
  }
  start(byteOffset: number): void {
    this.pos = byteOffset >> 2;
    this.end = this.pos + SLOT_BYTES / 4;
    this.u32.fill(0, this.pos, this.end);
  }
  private check(words: number): void {
    if (this.pos + words > this.end) throw new Error('webgpu: uniform slot overflow');
  }
  u(v: number): this {
    this.check(1);
    this.u32[this.pos++] = v >>> 0;
    return this;
  }
  i(v: number): this {
    this.check(1);
    this.i32[this.pos++] = v | 0;
    return this;
  }
  f(v: number): this {
    this.check(1);
    this.f32[this.pos++] = v;
    return this;
  }
  /** Pad to a 16-byte boundary. */
  align16(): this {
    while (this.pos & 3) this.pos++;
    return this;
  }
  /** `array<vec4<u32|i32>, count/4>`: values padded with zeros to `count` words, 16-byte aligned. */
  ints(values: readonly number[], count: number): this {
    this.align16();
    this.check(count);
    if (values.length > count) throw new Error('webgpu: uniform array too long');
    for (let k = 0; k < count; k++) this.i32[this.pos + k] = k < values.length ? values[k]! | 0 : 0;
    this.pos += count;
    return this;
  }
}

export class Runtime {
  readonly limits: GPUSupportedLimits;
  /** maxComputeWorkgroupsPerDimension (tests lower it to exercise grid splitting). */
  maxGroupsPerDim: number;
  readonly storage: BufferPool;
  /** Storage buffers that can also be bound as uniform windows ('u' bindings). */
  readonly uniformStorage: BufferPool;
  private readonly staging: BufferPool;
  /** Size of a 'u' binding: 64 KiB, or the device's maxUniformBufferBindingSize if smaller. */
  readonly windowBytes: number;
  /** A CPU rasterizer (llvmpipe, lavapipe, SwiftShader): kernels may pick software-friendly paths. */
  softwareAdapter = false;
  /**
   * Record every dispatch (pipelines, bind groups, uniforms, buffers, submits) but do not run it
   * (`bench model --count-only`): the device-independent counts and the allocator's peak memory
   * are exactly those of a real run — they do not depend on values — at sizes a software adapter
   * cannot run in reasonable time. Results are garbage; never set outside benchmarks.
   */
  countOnly = false;
  /**
   * Largest window (bytes, a multiple of 256) an op binds at once: the device's
   * maxStorageBufferBindingSize. Storages larger than this (up to maxBufferSize) are processed in
   * windows (engine/webgpu/windows.ts). Tests lower it to exercise the windowed paths.
   */
  maxBindingBytes: number;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Pipeline last set on the open pass (setPipeline is skipped when it repeats). */
  private passPipeline: GPUComputePipeline | null = null;
  /** Id of the batch being recorded (incremented at each submit). */
  batch = 0;
  private dispatches = 0;
  private slot = 0;

  private readonly ring: GPUBuffer;
  private readonly ringMirror: ArrayBuffer;
  private readonly writer: UniformWriter;

  private readonly kernels = new Map<string, Kernel>();
  private readonly layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private nextKernelId = 1;

  /** First uncaptured device error, raised at the next read/sync. */
  private error: Error | null = null;
  private destroyed = false;

  /** Counters for benchmarks. */
  stats = { dispatches: 0, submits: 0, pipelines: 0, bindGroups: 0, reads: 0 };

  constructor(readonly device: GPUDevice) {
    this.limits = device.limits;
    this.maxGroupsPerDim = device.limits.maxComputeWorkgroupsPerDimension;
    this.maxBindingBytes = Math.floor(device.limits.maxStorageBufferBindingSize / 256) * 256;
    const cap = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.storage = new BufferPool(
      device,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      cap,
    );
    this.uniformStorage = new BufferPool(
      device,
      GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      cap,
    );
    this.windowBytes = Math.min(65536, device.limits.maxUniformBufferBindingSize);
    this.staging = new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, device.limits.maxBufferSize);
    this.ring = device.createBuffer({
      size: SLOT_BYTES * RING_SLOTS,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.ringMirror = new ArrayBuffer(SLOT_BYTES * RING_SLOTS);
    this.writer = new UniformWriter(this.ringMirror);
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      if (!this.error) this.error = new Error(`webgpu: device error: ${ev.error.message}`);
    };
  }

  // ---------------------------------------------------------------- pipelines

  private layoutFor(bindings: string): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    let l = this.layouts.get(bindings);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        {
          binding: 0,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: SLOT_BYTES },
        },
      ];
      for (let i = 0; i < bindings.length; i++) {
        const c = bindings[i];
        if (c === '-') continue;
        entries.push({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer:
            c === 'u'
              ? { type: 'uniform', hasDynamicOffset: true, minBindingSize: this.windowBytes }
              : { type: c === 'w' ? 'storage' : 'read-only-storage' },
        });
      }
      const bgl = this.device.createBindGroupLayout({ entries });
      const pl = this.device.createPipelineLayout({ bindGroupLayouts: [bgl] });
      l = { bgl, pl };
      this.layouts.set(bindings, l);
    }
    return l;
  }

  /** The cached pipeline for a kernel spec (compiled on first use). */
  kernel(spec: KernelSpec): Kernel {
    const key =
      spec.file + '|' + spec.entry + '|' + spec.bindings + '|' +
      (spec.aliases ? JSON.stringify(spec.aliases) : '') + '|' +
      (spec.opBody ?? '') + '|' +
      (spec.constants ? JSON.stringify(spec.constants) : '');
    let k = this.kernels.get(key);
    if (!k) {
      const code = shaderText(spec.file, spec.aliases, spec.opBody);
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ code, label: spec.file });
      const { bgl, pl } = this.layoutFor(spec.bindings);
      const constants: Record<string, number> = {};
      if (spec.constants) {
        for (const [n, v] of Object.entries(spec.constants)) constants[n] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      }
      const pipeline = this.device.createComputePipeline({
        label: `${spec.file}:${spec.entry}`,
        layout: pl,
        compute: { module, entryPoint: spec.entry, constants },
      });
      k = { id: this.nextKernelId++, pipeline, layout: bgl, bindings: spec.bindings, name: `${spec.file}:${spec.entry}` };
      this.kernels.set(key, k);
      const name = k.name;
      // Compilation errors arrive asynchronously: drop the kernel from the cache and report the
      // error (with the kernel's name) at the next read or sync.
      void this.device.popErrorScope().then((err) => {
        if (!err) return;
        this.kernels.delete(key);
        if (!this.error) this.error = new Error(`webgpu: kernel ${name} failed to compile: ${err.message}`);
      });
      this.stats.pipelines++;
    }
    return k;
  }

  // ---------------------------------------------------------------- recording

  private ensurePass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) {
      this.pass = this.encoder.beginComputePass();
      this.passPipeline = null;
    }
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.encoder;
  }

  /** Workgroup grid for `n` workgroups along one logical axis: [x, y] with x, y within limits. */
  grid(n: number): [number, number] {
    const max = this.maxGroupsPerDim;
    if (n <= max) return [n, 1];
    const y = Math.ceil(n / max);
    if (y > max) throw new Error(`webgpu: ${n} workgroups exceed the dispatch limit`);
    return [Math.ceil(n / y), y];
  }

  /**
   * Record one dispatch. `buffers` follow the kernel's non-'-' bindings in order. A buffer bound
   * for writing must not be bound twice. `windowOffsets` are the byte offsets of the 'u' bindings.
   */
  dispatch(
    k: Kernel,
    buffers: readonly Binding[],
    uniforms: (w: UniformWriter) => void,
    x: number,
    y = 1,
    z = 1,
    windowOffsets: readonly number[] = [],
  ): void {
    if (this.destroyed) throw new Error('webgpu: backend was destroyed');
    if (x === 0 || y === 0 || z === 0) return;
    if (this.slot >= RING_SLOTS || this.dispatches >= FLUSH_DISPATCHES) this.flush();
    const slot = this.slot++;
    this.writer.start(slot * SLOT_BYTES);
    uniforms(this.writer);

    let key = k.id + ':';
    for (const b of buffers) key += b instanceof GpuBuffer ? b.id + ',' : `${b.buf.id}@${b.offset}+${b.size},`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.ring, offset: 0, size: SLOT_BYTES } }];
      let bi = 0;
      for (let i = 0; i < k.bindings.length; i++) {
        const c = k.bindings[i];
        if (c === '-') continue;
        const binding = buffers[bi++];
        if (!binding) throw new Error(`webgpu: ${k.name}: missing buffer for binding ${i + 1}`);
        const b = bufferOf(binding);
        if (c === 'w') {
          let count = 0;
          for (const o of buffers) if (bufferOf(o) === b) count++;
          if (count > 1) throw new Error(`webgpu: ${k.name}: a written buffer is bound more than once`);
        }
        let resource: GPUBufferBinding;
        if (c === 'u') resource = { buffer: b.buffer, offset: 0, size: this.windowBytes };
        else if (binding instanceof GpuBuffer) {
          if (b.bytes > this.limits.maxStorageBufferBindingSize) {
            throw new Error(
              `webgpu: ${k.name}: a ${b.bytes}-byte buffer bound whole exceeds maxStorageBufferBindingSize ` +
                `(${this.limits.maxStorageBufferBindingSize}); the op should have split it into windows`,
            );
          }
          resource = { buffer: b.buffer };
        } else resource = { buffer: b.buffer, offset: binding.offset, size: binding.size };
        entries.push({ binding: i + 1, resource });
      }
      if (bi !== buffers.length) throw new Error(`webgpu: ${k.name}: expected ${bi} buffers, got ${buffers.length}`);
      bg = this.device.createBindGroup({ layout: k.layout, entries });
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups = new Map();
      this.bindGroups.set(key, bg);
      this.stats.bindGroups++;
    }
    const pass = this.ensurePass();
    if (this.passPipeline !== k.pipeline) {
      pass.setPipeline(k.pipeline);
      this.passPipeline = k.pipeline;
    }
    pass.setBindGroup(0, bg, windowOffsets.length ? [slot * SLOT_BYTES, ...windowOffsets] : [slot * SLOT_BYTES]);
    if (!this.countOnly) pass.dispatchWorkgroups(x, y, z);
    for (const b of buffers) bufferOf(b).lastUse = this.batch;
    this.dispatches++;
    this.stats.dispatches++;
  }

  /** Record a buffer-to-buffer copy (ends the current compute pass). */
  copyBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    const enc = this.endPass();
    enc.copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
    src.lastUse = this.batch;
    dst.lastUse = this.batch;
  }

  /** End the pass, upload the uniforms of this batch and submit it. */
  flush(): void {
    if (!this.encoder) return;
    const enc = this.endPass();
    if (this.slot > 0) this.device.queue.writeBuffer(this.ring, 0, this.ringMirror, 0, this.slot * SLOT_BYTES);
    this.device.queue.submit([enc.finish()]);
    this.encoder = null;
    this.slot = 0;
    this.dispatches = 0;
    this.batch++;
    this.stats.submits++;
  }

  // ---------------------------------------------------------------- memory

  /** A storage buffer of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): GpuBuffer {
    this.checkBindable(bytes);
    return this.storage.take(Math.max(bytes, 4));
  }

  /** A storage buffer kept for the runtime's lifetime (kernel scratch; never released to the pool). */
  allocKept(bytes: number): GpuBuffer {
    this.checkBindable(bytes);
    return this.storage.createKept(Math.max(bytes, 4));
  }

  /** A storage buffer holding `data` (never written by queue.writeBuffer while pending commands use it). */
  upload(data: ArrayBufferView): GpuBuffer {
    const bytes = data.byteLength;
    this.checkBindable(bytes);
    const src = new Uint8Array(data.buffer, data.byteOffset, bytes);
    const reuse = this.storage.takeWritable(Math.max(bytes, 4), this.batch);
    if (reuse) {
      if (bytes > 0) this.device.queue.writeBuffer(reuse.buffer, 0, src);
      return reuse;
    }
    const b = this.storage.createMapped(Math.max(bytes, 4));
    new Uint8Array(b.buffer.getMappedRange(0, b.bytes)).set(src);
    b.buffer.unmap();
    return b;
  }

  /** A storage buffer that can also be bound as a uniform window. */
  allocUniform(bytes: number): GpuBuffer {
    this.checkBindable(bytes);
    return this.uniformStorage.take(Math.max(bytes, 4));
  }

  release(b: GpuBuffer): void {
    b.pool.give(b);
  }

  private checkBindable(bytes: number): void {
    const max = this.limits.maxBufferSize;
    if (bytes > max) {
      throw new Error(`webgpu: a storage of ${bytes} bytes exceeds this adapter's maxBufferSize (${max} bytes)`);
    }
  }

  /** Copy `bytes` bytes of `b` back to the host. The only readback. */
  async read(b: GpuBuffer, bytes: number): Promise<ArrayBuffer> {
    this.throwIfError();
    if (bytes === 0) {
      return new ArrayBuffer(0);
    }
    const stage = this.staging.take(bytes);
    const enc = this.endPass();
    enc.copyBufferToBuffer(b.buffer, 0, stage.buffer, 0, bytes);
    b.lastUse = this.batch;
    this.flush();
    this.stats.reads++;
    try {
      await stage.buffer.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      this.throwIfError();
      throw e;
    }
    const out = stage.buffer.getMappedRange(0, bytes).slice(0);
    stage.buffer.unmap();
    this.staging.give(stage);
    this.throwIfError();
    return out;
  }

  /** Submit pending work and wait for the queue to drain. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfError();
  }

  private throwIfError(): void {
    if (this.error) {
      const e = this.error;
      this.error = null;
      throw e;
    }
  }

  /** Destroy pooled free buffers (memory pressure, tests). */
  trim(): void {
    this.flush();
    this.storage.trim();
    this.uniformStorage.trim();
    this.staging.trim();
    this.bindGroups = new Map();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.kernels.clear();
    this.bindGroups.clear();
    this.layouts.clear();
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }
}

export { sizeClass };
