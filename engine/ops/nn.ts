// Neural-network building blocks composed from primitives: linear, dropout, losses, gelu by name.

import { dropThreshold } from '../random.js';
import { noGrad } from '../scope.js';
import { Tensor, shapeStr } from '../tensor.js';
import { add, cast, div, geluErf, geluTanh, mul, ne, relu, sigmoid, tanh } from './elementwise.js';
import { full } from './creation.js';
import { matmul, matmulBias } from './matmul.js';
import { crossEntropy } from './fused.js';
import { record, storages } from './record.js';
import { sum } from './reduce.js';

/**
 * x [..., in] @ W + b, with W stored [in, out] (GPT-2 Conv1D) or [out, in] (nn.Linear, transposed).
 * A bias [out] of x's dtype goes to the backend's matmul epilogue (matmulBias); any other bias
 * shape is added by broadcasting.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, layout: 'in_out' | 'out_in' = 'out_in'): Tensor {
  const transB = layout === 'out_in';
  const out = weight.rank === 2 ? weight.shape[transB ? 0 : 1] : undefined;
  if (bias && bias.rank === 1 && bias.shape[0] === out && bias.dtype === x.dtype && bias.device === x.device) {
    return matmulBias(x, weight, bias, { transB });
  }
  const y = matmul(x, weight, { transB });
  return bias ? add(y, bias) : y;
}

export type Activation = 'gelu_new' | 'gelu' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'relu' | 'tanh' | 'sigmoid';

/** Activation by its Hugging Face name. */
export function activation(name: string, x: Tensor): Tensor {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return geluTanh(x);
    case 'gelu':
      return geluErf(x);
    case 'relu':
      return relu(x);
    case 'tanh':
      return tanh(x);
    case 'sigmoid':
      return sigmoid(x);
    default:
      throw new Error(`activation: unsupported activation function '${name}'`);
  }
}

/**
 * Inverted dropout with a replayable mask: element i of x is kept when hash(seed, i) clears p, and
 * scaled by 1/(1-p). The same seed gives the same mask on every backend.
 */
export function dropout(x: Tensor, p: number, seed: number, training = true): Tensor {
  if (!training || p === 0) return x;
  dropThreshold(p);
  storages('dropout', x);
  const mask = noGrad(() => record('dropoutMask', x.backend.dropoutMask(x.size, p, seed >>> 0, x.dtype), x.shape, [x], null));
  return mul(x, mask);
}

/** sum(values * mask) / sum(mask): the mean over real positions. */
export function maskedMean(values: Tensor, mask: Tensor): Tensor {
  if (values.shape.length !== mask.shape.length) throw new Error(`maskedMean: values ${shapeStr(values.shape)} vs mask ${shapeStr(mask.shape)}`);
  const count = noGrad(() => sum(mask));
  return div(sum(mul(values, mask)), count);
}

/**
 * Mean cross entropy over positions whose label is not ignoreIndex (Hugging Face's causal-LM loss
 * once labels are shifted): logits [..., V], labels [...] int32.
 */
export function meanCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const losses = crossEntropy(logits, labels, ignoreIndex);
  const valid = noGrad(() => cast(ne(labels, full([], ignoreIndex, { dtype: 'int32', device: labels.device })), logits.dtype));
  return maskedMean(losses, valid);
}
