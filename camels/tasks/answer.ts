// Answering questions with a (possibly adapted) model as the reference does (spec 3.4): the prompt is
// the bare question; diverse beam search (or greedy for validation); the prediction is the decoded
// output with the decoded prompt cut off, stripped. Gold answers are the decode of the answer tokens
// (' ' + answer + EOS, truncated to max_answer_len) without EOS.

import { generate } from '../../models/generate.js';
import type { CausalLM } from '../../models/pretrained.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import type { QaExample } from '../data/types.js';
import { Progress } from '../runs/progress.js';
import { goldAnswer, tokenizeQa } from './tokenize.js';

export interface DecodingOptions {
  maxNewTokens: number;
  numBeams: number;
  numBeamGroups: number;
  diversityPenalty: number;
  eosTokenId: number;
  padTokenId: number;
  /** Predictions kept per question (the reference's top_k, default 1). */
  topK?: number;
  /** Prompts decoded together (left-padded); each equals decoding alone. */
  batchSize?: number;
}

export interface Answer {
  gold: string;
  predictions: string[];
}

export async function answerQuestions(model: CausalLM, tok: HfTokenizer, questions: QaExample[], opts: DecodingOptions, label: string, maxAnswerLen: number, maxQuestionLen = 128): Promise<Answer[]> {
  const out: Answer[] = [];
  const batch = opts.batchSize ?? (opts.numBeams > 1 ? 4 : 16);
  const prog = new Progress(label, questions.length);
  for (let i = 0; i < questions.length; i += batch) {
    const chunk = questions.slice(i, i + batch);
    const toks = chunk.map((q) => tokenizeQa(tok, q, maxQuestionLen, maxAnswerLen));
    const prompts = toks.map((t) => t.question);
    const res = await generate(model, prompts, {
      maxNewTokens: opts.maxNewTokens,
      numBeams: opts.numBeams,
      numBeamGroups: opts.numBeamGroups,
      diversityPenalty: opts.diversityPenalty,
      earlyStopping: true,
      eosTokenId: opts.eosTokenId,
      padTokenId: opts.padTokenId,
      numReturnSequences: Math.min(opts.topK ?? 1, opts.numBeams),
    });
    chunk.forEach((_, j) => {
      const promptText = tok.decode(prompts[j]!, { skipSpecialTokens: true });
      const predictions = res.sequences[j]!.map((s) => tok.decode(s.tokens, { skipSpecialTokens: true }).slice(promptText.length).trim());
      out.push({ gold: goldAnswer(tok, toks[j]!), predictions });
    });
    prog.tick(chunk.length);
  }
  return out;
}
