// Reverse-mode autodiff over the tape: grad() and backward().
//
// Each recorded tensor carries a node whose vjp is written in engine ops. grad() walks the graph
// from the outputs in reverse topological order, calling the vjps. With createGraph the vjps are
// themselves recorded, so the returned gradients can be differentiated again (Hessian-vector
// products, gradients through an SGD step). Unbroadcasting happens here and nowhere else.

import { fullLike } from './ops/creation.js';
import { add } from './ops/elementwise.js';
import { reshape, unbroadcast } from './ops/movement.js';
import { enableGrad, keep, noGrad, tidy } from './scope.js';
import { Tensor, shapeStr, type TapeNode } from './tensor.js';

export interface GradOptions {
  /** Record the backward pass so the gradients are differentiable (default false). */
  createGraph?: boolean;
  /** Cotangents for the outputs (default: 1 for scalar outputs). */
  gradOutputs?: Tensor | (Tensor | null)[] | null;
  /** Keep the graph usable for another backward (default: createGraph). */
  retainGraph?: boolean;
  /** Return zeros for inputs the outputs do not depend on (default true); false throws instead. */
  allowUnused?: boolean;
}

function releasedNode(op: string, inputs: readonly Tensor[]): TapeNode {
  return {
    op,
    inputs,
    vjp: () => {
      throw new Error(
        `grad: the graph through '${op}' was already used by an earlier grad()/backward(); pass { retainGraph: true } to the first call to go through it twice`,
      );
    },
  };
}

/** Tensors between the outputs and the inputs, in topological order (inputs first). */
function topoOrder(outputs: readonly Tensor[], inputIds: Set<number>): Tensor[] {
  const order: Tensor[] = [];
  const state = new Map<number, 'open' | 'done'>();
  const needed = new Map<number, boolean>();
  for (const root of outputs) {
    const stack: [Tensor, number][] = [[root, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [t, i] = top;
      if (i === 0) {
        if (state.get(t.id) === 'done') {
          stack.pop();
          continue;
        }
        state.set(t.id, 'open');
      }
      const inputs = t.node && t.requiresGrad ? t.node.inputs : [];
      if (i < inputs.length) {
        top[1]++;
        const child = inputs[i]!;
        if (child.requiresGrad && state.get(child.id) === undefined) stack.push([child, 0]);
        continue;
      }
      stack.pop();
      state.set(t.id, 'done');
      const isNeeded = inputIds.has(t.id) || inputs.some((c) => needed.get(c.id) === true);
      needed.set(t.id, isNeeded);
      if (isNeeded) order.push(t);
    }
  }
  return order;
}

/**
 * Gradients of outputs (summed, weighted by gradOutputs) with respect to inputs.
 * Inputs may be leaves or intermediate tensors.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], opts: GradOptions = {}): Tensor[] {
  const outs = Array.isArray(outputs) ? [...outputs] : [outputs as Tensor];
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const seedsIn = opts.gradOutputs == null ? [] : Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs];
  for (const x of inputs) {
    x.storageFor('grad');
    if (!x.requiresGrad) throw new Error(`grad: input ${x.name ?? '#' + x.id} ${shapeStr(x.shape)} does not require grad`);
  }
  const cot = new Map<number, Tensor>();
  const owned = new Set<Tensor>(); // cotangents created here (freed as we go unless createGraph)
  outs.forEach((o, i) => {
    o.storageFor('grad');
    let seed = seedsIn[i] ?? null;
    if (!seed) {
      if (o.size !== 1) throw new Error(`grad: output ${shapeStr(o.shape)} is not a scalar; pass gradOutputs`);
      seed = fullLike(o, 1);
      owned.add(seed);
    } else if (seed.shape.length !== o.shape.length || seed.shape.some((d, j) => d !== o.shape[j])) {
      throw new Error(`grad: gradOutputs[${i}] ${shapeStr(seed.shape)} does not match output ${shapeStr(o.shape)}`);
    }
    const prev = cot.get(o.id);
    if (prev) {
      const s = add(prev, seed);
      owned.add(s);
      cot.set(o.id, s);
    } else cot.set(o.id, seed);
  });

  const inputIds = new Set(inputs.map((x) => x.id));
  const order = topoOrder(outs.filter((o) => o.requiresGrad), inputIds);
  const run = createGraph ? enableGrad : noGrad;

  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k]!;
    const node = t.node;
    const g = cot.get(t.id);
    if (!node || !g) continue;
    const inGrads = run(() => (createGraph ? node.vjp(g) : tidy(() => node.vjp(g))));
    if (!retainGraph) t.node = releasedNode(node.op, node.inputs);
    const seen = new Set<Tensor>([g]);
    node.inputs.forEach((x, i) => {
      let gi = inGrads[i];
      if (!gi) return;
      // A vjp may hand back g itself or one tensor for several inputs (add): give each a handle of
      // its own (shared storage, no copy) so every cotangent has exactly one owner.
      if (seen.has(gi)) gi = run(() => reshape(gi!, gi!.shape));
      seen.add(gi);
      if (!x.requiresGrad) {
        if (!createGraph) gi.dispose();
        return;
      }
      const shaped = run(() => unbroadcast(gi, x.shape));
      if (shaped !== gi && !createGraph) gi.dispose();
      owned.add(shaped);
      const prev = cot.get(x.id);
      if (prev) {
        const s = run(() => add(prev, shaped));
        owned.add(s);
        if (!createGraph) {
          if (owned.has(prev)) prev.dispose();
          shaped.dispose();
        }
        cot.set(x.id, s);
      } else cot.set(x.id, shaped);
    });
    // This tensor's cotangent is no longer needed unless it is one of the requested inputs.
    if (!createGraph && !inputIds.has(t.id) && owned.has(g)) {
      g.dispose();
      cot.delete(t.id);
    }
  }

  return inputs.map((x) => {
    const g = cot.get(x.id);
    if (g) return g;
    if (opts.allowUnused === false) throw new Error(`grad: input ${x.name ?? '#' + x.id} ${shapeStr(x.shape)} is not used by the outputs`);
    return fullLike(x, 0);
  });
}

/** Leaves (requiresGrad, no node) reachable from t. */
function leavesOf(t: Tensor): Tensor[] {
  const seen = new Set<number>();
  const leaves: Tensor[] = [];
  const stack = [t];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x.id) || !x.requiresGrad) continue;
    seen.add(x.id);
    if (!x.node) leaves.push(x);
    else stack.push(...x.node.inputs);
  }
  return leaves;
}

/** Accumulate d(output)/d(leaf) into leaf.grad for every leaf that requires grad. */
export function backward(output: Tensor, opts: GradOptions = {}): void {
  const leaves = leavesOf(output);
  if (leaves.length === 0) throw new Error(`backward: output ${shapeStr(output.shape)} does not depend on any tensor that requires grad`);
  const gs = grad(output, leaves, opts);
  leaves.forEach((leaf, i) => {
    const g = gs[i]!;
    if (leaf.grad) {
      const s = (opts.createGraph ? enableGrad : noGrad)(() => add(leaf.grad!, g));
      leaf.grad.dispose();
      if (!opts.createGraph) g.dispose();
      leaf.grad = keep(s);
    } else leaf.grad = keep(g);
  });
}

/** A tensor sharing x's data with no tape history (gradients stop here). */
export function detach(x: Tensor): Tensor {
  return x.shareStorage(x.shape, 'detach');
}
