// The --device option shared by every command, and clean shutdown of the GPU device.

import * as E from '../engine/index.js';
import type { Backend } from '../engine/index.js';

export async function setupDevice(device: string | undefined): Promise<Backend> {
  const b = await E.initDevice(device);
  process.on('exit', () => E.shutdownDevices());
  return b;
}

export function describeBackend(b: Backend): string {
  return b.name === 'cpu' ? 'cpu (TypeScript reference backend)' : `webgpu — ${b.adapterName}`;
}
