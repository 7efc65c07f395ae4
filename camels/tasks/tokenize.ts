// Tokenising CaMeLS data the way the reference does (spec 2.3, 5): documents right-truncated to
// max_text_len; QA as question tokens + tokens of ' ' + answer + EOS, labels on the answer part.
// Over-long QA pairs (reference bug 9.8) are handled cleanly: the answer is cut to max_answer_len,
// then the question is cut from its start so the pair fits max_question_len.

import type { HfTokenizer } from '../../models/tokenizer.js';
import type { QaExample } from '../data/types.js';

export interface Tokenized {
  eos: number;
  pad: number;
}

export function specialIds(tok: HfTokenizer): Tokenized {
  const eos = tok.eosTokenId;
  if (eos === null) throw new Error(`tokenizer '${tok.dir}': no EOS token (needed for padding and answers)`);
  return { eos, pad: tok.padTokenId ?? eos };
}

/** Document tokens, right-truncated; reports truncation. */
export function tokenizeDocument(tok: HfTokenizer, text: string, maxLen: number): { ids: number[]; truncated: number } {
  const ids = tok.encode(text);
  return { ids: ids.slice(0, maxLen), truncated: Math.max(0, ids.length - maxLen) };
}

export interface QaTokens {
  question: number[];
  /** ' ' + answer + EOS */
  answer: number[];
}

export function tokenizeQa(tok: HfTokenizer, ex: Pick<QaExample, 'question' | 'answer'>, maxQaLen: number, maxAnswerLen: number, eos = true): QaTokens {
  const { eos: eosId } = specialIds(tok);
  let answer = tok.encode(' ' + ex.answer);
  if (eos) answer.push(eosId);
  if (answer.length > maxAnswerLen) answer = answer.slice(0, maxAnswerLen);
  let question = tok.encode(ex.question);
  const room = maxQaLen - answer.length;
  if (question.length > room) question = question.slice(question.length - room);
  return { question, answer };
}

/** The gold answer the reference scores against: decode of the (truncated) answer tokens without EOS. */
export function goldAnswer(tok: HfTokenizer, qa: QaTokens): string {
  const { eos } = specialIds(tok);
  return tok.decode(qa.answer.filter((t) => t !== eos), { skipSpecialTokens: true }).trim();
}
