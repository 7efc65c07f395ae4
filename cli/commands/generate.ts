// `camels-gpu generate --model DIR|HUB_ID --prompt "..."`: greedy, beam or diverse group beam search.

import { generate, readGenerationConfig } from '../../models/generate.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import { loadTokenizer } from '../../models/tokenizer.js';
import { resolveModelSource } from '../../models/model-source.js';
import { setupDevice } from '../device-option.js';

export async function generateCommand(opts: Record<string, unknown>): Promise<void> {
  const name = opts.model as string | undefined;
  const prompt = opts.prompt;
  if (!name || prompt === undefined) throw new Error('generate: --model and --prompt are required');
  const backend = await setupDevice(opts.device as string | undefined);
  const dir = await resolveModelSource(String(name));
  const tok = loadTokenizer(dir);
  const ids = tok.encode(String(prompt));
  if (ids.length === 0) throw new Error('generate: the prompt encodes to no tokens');
  const model = loadPretrained(dir, { device: backend.name, trainable: false });
  try {
    const numBeams = Number(opts.numBeams ?? 1);
    const res = await generate(model, [ids], {
      ...readGenerationConfig(dir),
      maxNewTokens: Number(opts.maxNewTokens ?? 32),
      numBeams,
      numBeamGroups: Number(opts.numBeamGroups ?? 1),
      diversityPenalty: Number(opts.diversityPenalty ?? 0),
      lengthPenalty: Number(opts.lengthPenalty ?? 1),
      earlyStopping: numBeams > 1 ? true : undefined,
      eosTokenId: tok.eosTokenId,
      padTokenId: tok.padTokenId,
    });
    const text = tok.decode(res.newTokens[0]!, { skipSpecialTokens: true });
    if (opts.json) console.log(JSON.stringify({ prompt: String(prompt), ids: res.tokens[0], newIds: res.newTokens[0], text, score: res.scores[0] }));
    else console.log(String(prompt) + text);
  } finally {
    disposeModel(model);
  }
}
