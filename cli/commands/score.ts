// `camels-gpu score --model DIR|HUB_ID --text "..."`: token ids, log p(ids[i+1] | ids[..i]) for each token
// after the first, and the mean loss.

import * as E from '../../engine/index.js';
import { causalLmLogits } from '../../models/gpt.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import { loadTokenizer } from '../../models/tokenizer.js';
import { resolveModelSource } from '../../models/model-source.js';

export interface ScoreResult {
  ids: number[];
  logprobs: number[];
  loss: number;
}

export async function scoreText(modelName: string, text: string, device: E.DeviceName): Promise<ScoreResult> {
  const modelDir = await resolveModelSource(modelName);
  const tok = loadTokenizer(modelDir);
  const ids = tok.encode(text);
  if (ids.length < 2) throw new Error(`score: the text has ${ids.length} token(s); at least 2 are needed to score a next token`);
  const model = loadPretrained(modelDir, { device, trainable: false });
  if (ids.length > model.config.nPositions && model.config.modelType !== 'gptj') {
    disposeModel(model);
    throw new Error(`score: the text has ${ids.length} tokens, more than the model's ${model.config.nPositions} positions`);
  }
  try {
    return await E.tidyAsync(async () =>
      E.noGrad(async () => {
        const T = ids.length;
        const logits = causalLmLogits(model.config, model.params, E.tensor(ids, [1, T], { dtype: 'int32', device }));
        const V = logits.shape[2]!;
        const lp = E.logSoftmax(E.slice(logits, [0, 0, 0], [1, T - 1, V])); // [1, T-1, V]
        const picked = E.sum(E.mul(lp, E.oneHot(E.tensor(ids.slice(1), [1, T - 1], { dtype: 'int32', device }), V)), -1);
        const logprobs = Array.from(await picked.data());
        const bad = logprobs.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) {
          throw new Error(`score: the model gave a non-finite log-probability (${logprobs[bad]}) for token ${bad + 1} of ${T}; its forward pass overflows or its weights are broken (${modelDir})`);
        }
        return { ids, logprobs, loss: -logprobs.reduce((a, b) => a + b, 0) / logprobs.length };
      }),
    );
  } finally {
    disposeModel(model);
  }
}
