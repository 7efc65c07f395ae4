// Order-1 and order-2 gradient checks of every differentiable op, cpu backend, float64.

import { describe, expect, it } from 'vitest';
import { opCases } from './op-cases.js';
import { checkOrder1, checkOrder2, relErr } from './gradcheck.js';

describe('gradient checks (cpu, float64, central differences)', () => {
  for (const c of opCases) {
    it(`${c.name}: first order`, async () => {
      const r = await checkOrder1(c.f, c.inputs);
      expect(Number.isFinite(r.analytic)).toBe(true);
      expect(relErr(r), `analytic ${r.analytic} vs numeric ${r.numeric}`).toBeLessThan(1e-6);
    });
    if (!c.firstOrderOnly) {
      it(`${c.name}: second order`, async () => {
        const r = await checkOrder2(c.f, c.inputs);
        expect(Number.isFinite(r.analytic)).toBe(true);
        expect(relErr(r), `analytic ${r.analytic} vs numeric ${r.numeric}`).toBeLessThan(1e-5);
      });
    }
  }
});
