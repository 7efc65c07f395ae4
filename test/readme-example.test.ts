// The README's library example, run as written (on the cpu backend).

import { expect, it } from 'vitest';
import * as E from '../index.js';

it('README example: a gradient and a gradient of a gradient', async () => {
  await E.initDevice('cpu');
  const x = E.tensor([1, 2, 3], [3], { requiresGrad: true });
  const y = E.sum(E.mul(E.mul(x, x), x));
  const [g] = E.grad(y, [x], { createGraph: true });
  const [h] = E.grad(E.sum(g!), [x]);
  expect(await g!.toArray()).toEqual([3, 12, 27]);
  expect(await h!.toArray()).toEqual([6, 12, 18]);
});
