// The engine's public surface: tensors, ops, autodiff, memory scopes, devices, optimizers.
export type { DType, DeviceName, TypedArray, Backend } from './backend.js';
export { Tensor, shapeSize } from './tensor.js';
export * from './ops/index.js';
export { grad, backward, detach, type GradOptions } from './autodiff.js';
export { tidy, tidyAsync, keep, noGrad, enableGrad, isGradEnabled } from './scope.js';
export { initDevice, getBackend, defaultDeviceName, setDefaultDevice, shutdownDevices, probeWebGPU, WEBGPU_HELP } from './device.js';
export { sgdStep, sgdStepInPlace } from './optim/sgd.js';
export { Adam, type AdamOptions } from './optim/adam.js';
export { globalGradNorm, clipCoefficient } from './optim/clip.js';
export { readLater } from './read-later.js';
export { OP_TABLE, KERNEL_NAMES, hasKernel, withoutKernels, type KernelName, type OpEntry, type OptionalKernel } from './op-table/index.js';
