// Memory scopes and gradient mode.
//
// `tidy(fn)` disposes every tensor created inside fn except what fn returns (and what was `keep`-ed):
// GPU memory is explicit, never left to the garbage collector. `noGrad(fn)` runs fn without recording
// the tape. Both are stacks, so they nest.

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Set<Disposable>[] = [];
let gradDisabledDepth = 0;

/** Called by every new tensor: it belongs to the innermost open scope, if any. */
export function trackInScope(t: Disposable): void {
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
}

/** Remove t from every open scope, so no enclosing tidy disposes it. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Collect the tensors inside a (possibly nested) tidy result. */
function collectResult(value: unknown, out: Set<Disposable>): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object') return;
  if (isDisposable(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectResult(v, out);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collectResult(v, out);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as Record<string, unknown>)) collectResult(v, out);
  }
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === 'function' && 'isDisposed' in v;
}

/**
 * Run fn; dispose every tensor created during it except those reachable from its return value
 * (tensors, arrays, Maps, plain objects). Returned tensors move to the enclosing scope.
 * fn must be synchronous (an async fn would leave the scope before its awaits).
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy: fn must be synchronous (it returned a Promise); use tidyAsync');
  } catch (e) {
    scopes.pop();
    for (const t of scope) if (!t.isDisposed) t.dispose();
    throw e;
  }
  scopes.pop();
  return closeScope(scope, result);
}

/** Dispose what a finished scope made except what its result reaches; hand that to the parent scope. */
function closeScope<T>(scope: Set<Disposable>, result: T): T {
  const kept = new Set<Disposable>();
  collectResult(result, kept);
  for (const t of scope) if (!kept.has(t) && !t.isDisposed) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of kept) if (scope.has(t)) parent.add(t);
  return result;
}

/** Async variant: the scope stays open across awaits (do not run two tidyAsync concurrently). */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  const depth = scopes.length;
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    if (scopes.length === depth) scopes.pop();
    for (const t of scope) if (!t.isDisposed) t.dispose();
    throw e;
  }
  if (scopes[scopes.length - 1] !== scope) throw new Error('tidyAsync: scopes were interleaved (concurrent tidyAsync calls)');
  scopes.pop();
  return closeScope(scope, result);
}

/** Run fn without recording operations on the tape. */
export function noGrad<T>(fn: () => T): T {
  gradDisabledDepth++;
  try {
    return fn();
  } finally {
    gradDisabledDepth--;
  }
}

/** Run fn with recording forced on (used by grad(..., {createGraph: true}) inside noGrad code). */
export function enableGrad<T>(fn: () => T): T {
  const saved = gradDisabledDepth;
  gradDisabledDepth = 0;
  try {
    return fn();
  } finally {
    gradDisabledDepth = saved;
  }
}

export function isGradEnabled(): boolean {
  return gradDisabledDepth === 0;
}
