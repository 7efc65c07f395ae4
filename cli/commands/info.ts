// `camels-gpu info`: which backend would run, the WebGPU adapter, its limits and features.

import * as E from '../../engine/index.js';
import { explainDawnWarnings } from '../device-option.js';
import { dawnPrintedLimitWarnings } from '../../engine/webgpu/device.js';

export async function infoCommand(opts: { device?: string; json?: boolean }): Promise<void> {
  const gpu = await E.probeWebGPU();
  const chosen = await E.initDevice(opts.device);
  const desc = gpu && 'describe' in gpu ? (gpu as unknown as { describe(): Record<string, unknown> }).describe() : null;
  const info = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    chosen: chosen.name,
    webgpu: gpu ? { adapter: gpu.adapterName, ...(desc ?? {}) } : null,
    webgpuHelp: gpu ? undefined : E.WEBGPU_HELP,
  };
  if (dawnPrintedLimitWarnings()) explainDawnWarnings();
  if (opts.json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  console.log(`camels-gpu on Node ${info.node} (${info.platform})`);
  console.log(`backend in use: ${chosen.name}${chosen.name === 'webgpu' ? ` (${chosen.adapterName})` : ''}`);
  if (!gpu) {
    console.log(`webgpu: not available. ${E.WEBGPU_HELP}`);
    return;
  }
  console.log(`webgpu adapter: ${gpu.adapterName}`);
  if (desc) {
    for (const [k, v] of Object.entries(desc)) {
      if (k === 'limits' && v && typeof v === 'object') {
        console.log('limits:');
        for (const [lk, lv] of Object.entries(v as Record<string, unknown>)) console.log(`  ${lk}: ${String(lv)}`);
      } else console.log(`${k}: ${Array.isArray(v) ? v.join(', ') || '(none)' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    }
  }
}
