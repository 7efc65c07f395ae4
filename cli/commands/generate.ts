// `camels-gpu generate --model DIR|HUB_ID --prompt "..."`: greedy, beam or diverse group beam search.

import { generate, readGenerationConfig } from '../../models/generate.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import { loadTokenizer } from '../../models/tokenizer.js';
import { resolveModelSource } from '../../models/model-source.js';
import { setupDevice } from '../device-option.js';
import { intOption, realOption, textOption } from '../option-values.js';

export async function generateCommand(opts: Record<string, unknown>): Promise<void> {
  const name = textOption(opts, 'model', '--model', 'generate');
  const prompt = textOption(opts, 'prompt', '--prompt', 'generate');
  if (!name || prompt === undefined) throw new Error('generate: --model and --prompt are required');
  const numBeams = intOption(opts, 'numBeams', '--num-beams', 'generate', 1) ?? 1;
  const search = {
    maxNewTokens: intOption(opts, 'maxNewTokens', '--max-new-tokens', 'generate', 1) ?? 32,
    numBeams,
    numBeamGroups: intOption(opts, 'numBeamGroups', '--num-beam-groups', 'generate', 1) ?? 1,
    diversityPenalty: realOption(opts, 'diversityPenalty', '--diversity-penalty', 'generate', 0) ?? 0,
    lengthPenalty: realOption(opts, 'lengthPenalty', '--length-penalty', 'generate') ?? 1,
  };
  const backend = await setupDevice(textOption(opts, 'device', '--device', 'generate'));
  const dir = await resolveModelSource(name);
  const tok = loadTokenizer(dir);
  const ids = tok.encode(prompt);
  if (ids.length === 0) throw new Error('generate: the prompt encodes to no tokens');
  const model = loadPretrained(dir, { device: backend.name, trainable: false });
  try {
    const res = await generate(model, [ids], {
      ...readGenerationConfig(dir),
      ...search,
      earlyStopping: numBeams > 1 ? true : undefined,
      eosTokenId: tok.eosTokenId,
      padTokenId: tok.padTokenId,
    });
    if (!Number.isFinite(res.scores[0])) throw new Error(`generate: the model gave a non-finite score (${res.scores[0]}); its forward pass overflows or its weights are broken (${dir})`);
    const text = tok.decode(res.newTokens[0]!, { skipSpecialTokens: true });
    if (opts.json) console.log(JSON.stringify({ prompt, ids: res.tokens[0], newIds: res.newTokens[0], text, score: res.scores[0] }));
    else console.log(prompt + text);
  } finally {
    disposeModel(model);
  }
}
