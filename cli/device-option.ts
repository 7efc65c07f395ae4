// The --device option shared by every command, clean shutdown of the GPU device, and the one
// record of what a command runs on: a stderr line (backend, adapter, key limits; plus the
// explanation of Dawn's start-up warnings when its OpenGL ES backend printed them) and, for
// commands with a run directory, device.json with the adapter's full description and limits.

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../engine/index.js';
import type { Backend } from '../engine/index.js';
import { DAWN_LIMIT_WARNINGS_NOTE, dawnPrintedLimitWarnings, type AdapterDescription } from '../engine/webgpu/device.js';

export interface DeviceRecord {
  backend: 'cpu' | 'webgpu';
  adapter: string | null;
  description: AdapterDescription | null;
  node: string;
  platform: string;
}

let chosen: Backend | null = null;

export async function setupDevice(device: string | undefined): Promise<Backend> {
  const b = await E.initDevice(device);
  process.on('exit', () => E.shutdownDevices());
  if (!chosen) {
    chosen = b;
    console.error(`device: ${describeBackend(b)}${limitSummary(b)}`);
  }
  if (dawnPrintedLimitWarnings()) explainDawnWarnings();
  return b;
}

let explained = false;
/** Prints the note on Dawn's start-up warnings once per process. */
export function explainDawnWarnings(): void {
  if (explained) return;
  explained = true;
  console.error(DAWN_LIMIT_WARNINGS_NOTE);
}

function descriptionOf(b: Backend): AdapterDescription | null {
  const d = b as unknown as { describe?: () => AdapterDescription };
  return b.name === 'webgpu' && typeof d.describe === 'function' ? d.describe() : null;
}

function limitSummary(b: Backend): string {
  const d = descriptionOf(b);
  if (!d) return '';
  const mib = (k: string) => (d.limits[k] !== undefined ? `${k} ${Math.round(d.limits[k]! / 2 ** 20)} MiB` : null);
  const parts = [`${d.backend}, ${d.featureLevel}`, mib('maxBufferSize'), mib('maxStorageBufferBindingSize'), d.limits.maxComputeInvocationsPerWorkgroup !== undefined ? `maxComputeInvocationsPerWorkgroup ${d.limits.maxComputeInvocationsPerWorkgroup}` : null];
  return ` (${parts.filter(Boolean).join('; ')})`;
}

/** What the command runs on, for a run directory. */
export function deviceRecord(b: Backend | null = chosen): DeviceRecord {
  if (!b) throw new Error('deviceRecord: no device set up yet');
  return { backend: b.name, adapter: b.name === 'webgpu' ? b.adapterName : null, description: descriptionOf(b), node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** Records the device in a run directory: device.json (backend, adapter, limits, features) and one log line. */
export function writeDeviceRecord(run: { dir: string; log(line: string): void }, b: Backend | null = chosen): void {
  if (!b) throw new Error('writeDeviceRecord: no device set up yet');
  fs.writeFileSync(path.join(run.dir, 'device.json'), JSON.stringify(deviceRecord(b), null, 2) + '\n');
  run.log(`device: ${describeBackend(b)}${limitSummary(b)}`);
}

export function describeBackend(b: Backend): string {
  if (b.name === 'webgpu') return `webgpu — ${b.adapterName}`;
  // the fast float32 path names its kernels ('cpu (wasm simd + relaxed madd, threads)'); the plain one is 'cpu'
  return b.adapterName === 'cpu' ? 'cpu (plain TypeScript reference kernels)' : b.adapterName;
}
