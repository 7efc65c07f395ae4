// One seed of the embedded default experiment, start to finish, in its own run directory. The seed
// changes the dataset (splits, test stream), every initialisation, data order and dropout.
//
//   1. synthetic data with distractor facts, disjoint splits
//   2. a byte-level BPE tokenizer trained on non-test text; every test document must fit the context
//   3. pre-train a small GPT-J on the QA-pretraining split's documents and cloze pairs, QA-tune it
//      (answer + EOS, early stopping on held-out QA-pretraining questions)
//   4. pre-train a small GPT-2 body and meta-train the CaMeLS weight model around it (exact
//      second-order meta-gradients through sequential SGD on the GPT-J), best checkpoint on validation
//   5. each method's adaptation lr chosen on validation documents (answer NLL, grid extended until interior)
//   6. the test stream: one Adam pass per method, scored per question (F1, EMs, answer NLL), and the
//      weighting's selectivity on the test documents
//
// Each phase records its outputs in default-state.json, so a resumed run skips finished phases.

import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import * as E from '../../../engine/index.js';
import type { DType, DeviceName } from '../../../engine/index.js';
import { trainByteLevelBpe, writeTokenizerDir } from '../../../models/bpe-trainer.js';
import { parseHfConfig } from '../../../models/hf-config.js';
import { disposeModel, initModel, loadPretrained, savePretrained, type CausalLM } from '../../../models/pretrained.js';
import { loadTokenizer, type HfTokenizer } from '../../../models/tokenizer.js';
import { selectivity, tallyWeights, type Selectivity } from '../../answer-metrics.js';
import { padBatch, batchToDevice } from '../../batch.js';
import { QA_DEFAULTS, TRAIN_DEFAULTS, type TrainConfig } from '../../config.js';
import { generateSyntheticDataset, syntheticCorpus, syntheticQaExamples, type SyntheticDataset, type SyntheticDocument } from '../../data/synthetic.js';
import type { QaExample } from '../../data/types.js';
import { fmt } from '../../runs/progress.js';
import { RunDir, writeAtomic } from '../../runs/run-dir.js';
import { loadWeightModel, newWeightModel } from '../../weight-model.js';
import { camelsWeighting, ssmWeighting, tfidfWeighting, uniformWeighting, type TokenWeighting } from '../../weighting/weighters.js';
import { lmPretrain } from '../lm-pretrain.js';
import { metaTrain } from '../meta-train.js';
import { qaLightTune } from '../qa-train.js';
import { specialIds, tokenizeDocument, tokenizeQa } from '../tokenize.js';
import { adaptAndScore, scoreStream, type QuestionResult, type ScoredStream } from './adapt.js';
import { searchLearningRate, type LrSearchResult } from './lr-search.js';
import { oracleWeighting } from './oracle-weighting.js';
import type { DefaultScale } from './scale.js';

export const METHODS = ['uniform', 'ssm', 'tfidf', 'CaMeLS'] as const;
export type Method = (typeof METHODS)[number];

const MAX_Q = 48;
const MAX_A = 16;

export interface MethodSeedResult {
  lr: number;
  lrSearch: LrSearchResult;
  questions: QuestionResult[];
  selectivity: Selectivity;
  adaptSeconds: number;
}

export interface WeightSample {
  tokens: string[];
  /** Per token: inside an answer span. */
  answer: boolean[];
  /** Per token: inside a distractor-value span. */
  distractor: boolean[];
  weights: Record<string, number[]>;
}

export interface SeedResult {
  seed: number;
  documents: number;
  questions: number;
  /** Token counts of the test documents [min, max] and the context length. */
  tokens: { min: number; max: number; context: number };
  before: QuestionResult[];
  methods: Record<Method, MethodSeedResult>;
  meta: { steps: number; bestVal: number; valHistory: { step: number; val: number }[] };
  phaseSeconds: Record<string, number>;
  samples: WeightSample[];
  /** The reference row: weight on the answer spans only (camels/tasks/default/oracle-weighting.ts). */
  oracle?: MethodSeedResult;
  /** The transfer check: test answer NLL after one SGD pass at the meta-training inner lr. */
  transfer?: TransferResult;
  seconds: number;
}

/** Weightings of the transfer check: uniform, uniform rescaled to CaMeLS's mean weight per document, CaMeLS. */
export const TRANSFER_WEIGHTINGS = ['uniform', 'uniform_matched', 'CaMeLS'] as const;
export type TransferWeighting = (typeof TRANSFER_WEIGHTINGS)[number];

export interface TransferResult {
  lr: number;
  questions: Record<TransferWeighting, QuestionResult[]>;
}

export interface SeedOptions {
  seed: number;
  scale: DefaultScale;
  run: RunDir;
  device: DeviceName;
  log: (line: string) => void;
}

interface PhaseState {
  phases: Record<string, unknown>;
}

/** Questions of `docs` in cloze form, each naming its document's index in `docs`. */
function streamOf(docs: readonly SyntheticDocument[]): ScoredStream {
  return {
    documents: docs.map((d) => d.text),
    questions: docs.flatMap((d, i) => d.questions.map((q) => ({ document: d.text, question: q.cloze, answer: q.answer, doc: i }))),
  };
}

/** The default asks every question in its cloze form (see camels/data/synthetic.ts). */
const clozeRows = (docs: readonly SyntheticDocument[]): QaExample[] => syntheticQaExamples(docs, { cloze: true });

export async function runSeed(o: SeedOptions): Promise<SeedResult> {
  const { seed, scale, run, device, log } = o;
  const dtype: DType = 'float32';
  const t0 = Date.now();
  const state: PhaseState = { phases: {} };
  const stateFile = run.path('default-state.json');
  if (fs.existsSync(stateFile)) Object.assign(state, JSON.parse(fs.readFileSync(stateFile, 'utf8')));
  const stamp = (p: string, info: unknown) => {
    state.phases[p] = info;
    writeAtomic(stateFile, JSON.stringify(state, null, 2));
    run.log(`phase ${p} done`);
  };
  // Wall-clock seconds per phase, and the process's CPU seconds (all threads) beside them as
  // "<phase> cpu": on a shared machine the wall clock is inflated, the CPU time much less so. Only
  // when this seed runs alone in the process: a worker thread cannot read its own CPU time on
  // Node 20 (process.cpuUsage counts every thread).
  const phaseSeconds: Record<string, number> = (state.phases.seconds as Record<string, number> | undefined) ?? {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const c = process.cpuUsage();
    const r = await f();
    const cpu = process.cpuUsage(c);
    phaseSeconds[name] = (phaseSeconds[name] ?? 0) + (Date.now() - t) / 1000;
    if (isMainThread) phaseSeconds[`${name} cpu`] = (phaseSeconds[`${name} cpu`] ?? 0) + (cpu.user + cpu.system) / 1e6;
    stamp('seconds', phaseSeconds);
    return r;
  };
  const tag = `[seed ${seed}]`;

  // 1. data
  const ds: SyntheticDataset = generateSyntheticDataset({ seed, ...scale.docs, distractors: scale.distractors });
  const T = scale.model.n_positions;
  run.writeConfig({ ...TRAIN_DEFAULTS, seed, dataset: 'synthetic', max_text_len: T, default_scale: JSON.stringify(scale) });
  const nq = (s: SyntheticDocument[]) => s.reduce((n, d) => n + d.questions.length, 0);
  log(`${tag} 1/6 data: QA-pretrain ${ds.qaPretrain.length} docs, meta-train ${ds.metaTrain.length}, validation ${ds.validation.length}, test ${ds.test.length} docs / ${nq(ds.test)} questions; ${scale.distractors} distractor facts per document`);

  // 2. tokenizer (never sees the test split)
  const tokDir = run.path('tokenizer');
  if (!('tokenizer' in state.phases)) {
    const tj = trainByteLevelBpe(syntheticCorpus({ ...ds, test: [] }), { vocabSize: scale.vocabSize, specialTokens: ['<|endoftext|>'] });
    writeTokenizerDir(tokDir, tj, { eosToken: '<|endoftext|>', bosToken: '<|endoftext|>', unkToken: '<|endoftext|>', modelMaxLength: T });
    stamp('tokenizer', true);
  }
  const tok = loadTokenizer(tokDir);
  const { pad, eos } = specialIds(tok);
  const testLens = ds.test.map((d) => tok.encode(d.text).length);
  const tokens = { min: Math.min(...testLens), max: Math.max(...testLens), context: T };
  if (tokens.max > T) throw new Error(`default experiment: a test document has ${tokens.max} tokens, more than the context (${T}); raise model.n_positions`);
  log(`${tag} 2/6 tokenizer: byte-level BPE, ${tok.vocabSize} tokens; test documents ${tokens.min}–${tokens.max} tokens (context ${T})`);

  // 3. base model
  const baseDir = run.path('base-model');
  const hfRaw = {
    model_type: 'gptj', architectures: ['GPTJForCausalLM'], vocab_size: tok.vocabSize, n_positions: T,
    n_embd: scale.model.n_embd, n_layer: scale.model.n_layer, n_head: scale.model.n_head, rotary_dim: scale.model.rotary_dim,
    resid_pdrop: scale.model.dropout, embd_pdrop: scale.model.dropout, attn_pdrop: 0,
    bos_token_id: eos, eos_token_id: eos, activation_function: 'gelu_new', tie_word_embeddings: false,
  };
  if (!('base' in state.phases)) {
    const model = initModel(parseHfConfig(hfRaw, 'default-experiment'), hfRaw, { seed: seed * 101 + 1, device, dtype });
    try {
      const qa = clozeRows(ds.qaPretrain);
      const seqs = [...ds.qaPretrain.map((d) => tokenizeDocument(tok, d.text, T).ids), ...qa.map((r) => { const q = tokenizeQa(tok, r, MAX_Q, MAX_A); return [...q.question, ...q.answer]; })];
      const loss = await timed('pre-train', () => lmPretrain(model, seqs, run, { steps: scale.pretrainSteps, batchSize: scale.pretrainBatch, seqLen: T, lr: scale.pretrainLr, warmup: Math.min(30, scale.pretrainSteps), seed: seed * 101 + 2, padId: pad, label: 'pre-train', packSeparator: eos }));
      log(`${tag} 3/6 pre-train: ${scale.pretrainSteps} steps, final loss ${loss.toFixed(3)} (${fmt(phaseSeconds['pre-train']!)})`);
      // QA tuning (question → ' ' + answer + EOS, loss on answer and EOS) with early stopping on
      // held-out QA-pretraining questions.
      const nVal = Math.max(4, Math.floor(qa.length * 0.1));
      const qaCfg = { ...QA_DEFAULTS, seed, max_text_len: T, max_question_len: MAX_Q, max_answer_len: MAX_A };
      const lt = await timed('qa-tune', () => qaLightTune(model, tok, qa.slice(nVal), qa.slice(0, nVal), qaCfg, run, {
        lr: scale.qaTuneLr, batchSize: 16, gradAcc: 1, clip: 1, valSteps: Math.max(1, Math.floor(scale.qaTuneMaxSteps / 4)), patience: 2, metric: 'nll', maxSteps: scale.qaTuneMaxSteps, label: 'qa-tune', valGenerate: 0,
      }));
      log(`${tag}    qa-tune: best answer NLL ${lt.best.nll.toFixed(3)} at step ${lt.best.step} (${fmt(phaseSeconds['qa-tune']!)})`);
      await savePretrained(model, baseDir);
      stamp('base', { pretrainLoss: loss, qaBest: lt.best });
    } finally {
      disposeModel(model);
    }
  } else log(`${tag} 3/6 base model: already trained (resumed)`);
  const loadBase = (): CausalLM => loadPretrained(baseDir, { device, dtype });

  // 4. meta-training
  const wmDir = run.path('weight-model');
  if (!('meta' in state.phases)) {
    const bodyRaw = {
      model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: tok.vocabSize, n_positions: T,
      n_embd: scale.wmBody.n_embd, n_layer: scale.wmBody.n_layer, n_head: scale.wmBody.n_head,
      resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1, bos_token_id: eos, eos_token_id: eos, tie_word_embeddings: true,
    };
    const bodyLm = initModel(parseHfConfig(bodyRaw, 'default-experiment weight-model body'), bodyRaw, { seed: seed * 101 + 4, device, dtype });
    await timed('weight-model body', () => lmPretrain(bodyLm, ds.qaPretrain.map((d) => tokenizeDocument(tok, d.text, T).ids), run, { steps: scale.wmBody.steps, batchSize: scale.pretrainBatch, seqLen: T, lr: scale.pretrainLr, warmup: Math.min(20, scale.wmBody.steps), seed: seed * 101 + 5, padId: pad, label: 'pre-train weight-model body', packSeparator: eos }));
    const bodyParams: Record<string, E.Tensor> = {};
    for (const [k, t] of Object.entries(bodyLm.params)) if (k.startsWith('transformer.')) bodyParams[k] = t;
    for (const [k, t] of Object.entries(bodyLm.params)) if (!k.startsWith('transformer.')) t.dispose();
    const wm = newWeightModel(bodyLm.config, bodyRaw, bodyParams, scale.weightModelHidden, seed * 101 + 3, { normalize: scale.weightNormalize });
    const base = loadBase();
    for (const t of Object.values(base.params)) t.requiresGrad = true;
    const metaCfg: TrainConfig = {
      ...TRAIN_DEFAULTS, seed, dataset: 'synthetic', max_text_len: T, max_question_len: MAX_Q, max_answer_len: MAX_A,
      update_batch_size: scale.updateBatchSize, reset_base_freq: scale.resetBaseFreq, grad_acc_steps: scale.metaGradAcc,
      val_steps: scale.metaValEvery, max_outer_steps: scale.metaOuterSteps, n_epochs: 1000, val_batches: scale.metaValBatches,
      outer_lr: scale.outerLr, inner_lr: scale.innerLr, c_kl: scale.cKl,
    };
    try {
      const metaRun = new RunDir(wmDir);
      metaRun.writeConfig(metaCfg);
      const r = await timed('meta-train', () => metaTrain({
        run: metaRun, tokenizer: tok, base, wm, device, dtype,
        data: { train: clozeRows(ds.metaTrain), val: clozeRows(ds.validation), loc: ds.qaPretrain.map((d) => d.text), locVal: ds.qaPretrain.slice(0, 8).map((d) => d.text) },
      }, metaCfg));
      const history = r.history;
      log(`${tag} 4/6 meta-train: ${r.outerSteps} outer steps, validation loss ${history.map((h) => h.val.toFixed(3)).join(' → ')} (${fmt(phaseSeconds['meta-train']!)})`);
      stamp('meta', { best: r.bestCheckpoint, bestVal: r.bestVal, steps: r.outerSteps, history });
    } finally {
      disposeModel(base);
      for (const t of Object.values(wm.params)) t.dispose();
    }
  } else log(`${tag} 4/6 meta-train: already done (resumed)`);
  const meta = state.phases.meta as { best: string; bestVal: number; steps: number; history: { step: number; val: number }[] };

  // 5–6. learning rates on validation, then the test stream
  const tfidfCorpus = [...ds.qaPretrain, ...ds.metaTrain, ...ds.validation, ...ds.test].map((d) => d.text); // the reference fits on the whole dataset, test included (spec 1.5)
  const weighting = (m: Method): { w: TokenWeighting; dispose: () => void } => {
    if (m === 'uniform') return { w: uniformWeighting(), dispose: () => {} };
    if (m === 'ssm') return { w: ssmWeighting(tok), dispose: () => {} };
    if (m === 'tfidf') return { w: tfidfWeighting(tok, tfidfCorpus, null), dispose: () => {} };
    const wm = loadWeightModel(meta.best, meta.best.replace(/\.safetensors$/, '') + '.config.json', { device, dtype });
    return { w: camelsWeighting(wm), dispose: () => Object.values(wm.params).forEach((t) => t.dispose()) };
  };
  const decoding = { maxNewTokens: scale.maxNewTokens, numBeams: scale.numBeams, numBeamGroups: scale.numBeamGroups, diversityPenalty: scale.numBeamGroups > 1 ? 10 : 0, eosTokenId: eos, padTokenId: pad };
  const scoreOpts = { decoding, maxQuestionLen: MAX_Q, maxAnswerLen: MAX_A };
  const adaptOpts = (lr: number) => ({ lr, maxTextLen: T, epochs: scale.streamEpochs, clip: 750, seed, device, dtype });
  const valStream = streamOf(ds.validation.slice(0, scale.lrSelectDocs));
  const testStream = streamOf(ds.test);

  if (!('before' in state.phases)) {
    const model = loadBase();
    try {
      stamp('before', await timed('evaluate', () => scoreStream(model, tok, testStream, scoreOpts, 'answer (before adaptation)')));
    } finally {
      disposeModel(model);
    }
  }
  const before = state.phases.before as QuestionResult[];
  const methods = (state.phases.methods as Partial<Record<Method, MethodSeedResult>> | undefined) ?? {};
  const evaluate = async (label: string, w: TokenWeighting): Promise<MethodSeedResult> => {
    const lrSearch = await timed('lr selection', () => searchLearningRate(async (lr) => {
      const r = await adaptAndScore(loadBase, tok, valStream, w, adaptOpts(lr), scoreOpts);
      const p = { lr, nll: mean(r.questions.map((q) => q.nll)), f1: mean(r.questions.map((q) => q.f1)) };
      log(`${tag} 5/6 lr selection (validation) ${label} lr ${lr}: answer NLL ${p.nll.toFixed(3)}, F1 ${(100 * p.f1).toFixed(1)}`);
      return p;
    }, { grid: scale.lrGrid, factor: scale.lrFactor, maxExtensions: scale.lrMaxExtensions }));
    if (!lrSearch.interior) log(`${tag}    ${label}: the best lr ${lrSearch.best} is still at an edge after ${scale.lrMaxExtensions} extensions`);
    const r = await timed('evaluate', () => adaptAndScore(loadBase, tok, testStream, w, adaptOpts(lrSearch.best), scoreOpts));
    const sel = selectivity(await tallies(tok, ds.test, w, device, dtype));
    const q = r.questions;
    log(`${tag} 6/6 test ${label}: lr ${lrSearch.best}, answer NLL ${mean(q.map((x) => x.nll)).toFixed(3)}, F1 ${(100 * mean(q.map((x) => x.f1))).toFixed(1)}, EM ${(100 * mean(q.map((x) => x.emStd))).toFixed(1)} (ref. ${(100 * mean(q.map((x) => x.emRef))).toFixed(1)}), answer weight share ${(100 * sel.answerWeightShare).toFixed(1)}%, answer/distractor weight ${sel.answerVsDistractorWeight.toFixed(2)}`);
    return { lr: lrSearch.best, lrSearch, questions: r.questions, selectivity: sel, adaptSeconds: r.adaptSeconds };
  };
  for (const m of METHODS) {
    if (methods[m]) continue;
    const { w, dispose } = weighting(m);
    try {
      methods[m] = await evaluate(m, w);
      stamp('methods', methods);
    } finally {
      dispose();
    }
  }
  // The oracle row (not a method): weight only on the answer spans, under the same protocol, lr
  // chosen the same way on validation documents. It bounds what any weighting could gain here.
  if (!('oracle' in state.phases)) stamp('oracle', await evaluate('oracle (answer spans)', oracleWeighting(tok, [...ds.validation, ...ds.test])));
  // The transfer check: the weights were meta-learned for SGD steps at inner_lr and are applied with
  // Adam above. Under the meta-training condition (one SGD step per document at inner_lr), compare
  // CaMeLS with uniform and with uniform rescaled to CaMeLS's mean weight per document (same total
  // step, only the distribution over tokens differs). Answer NLL only; nothing here chooses anything.
  if (!('transfer' in state.phases)) {
    const { w: cw, dispose } = weighting('CaMeLS');
    try {
      const matched: TokenWeighting = {
        name: 'uniform',
        weights: (batch) => E.noGrad(() => E.mul(batch.mask, E.div(E.sum(cw.weights(batch)), E.sum(batch.mask)))), // [1, n]
        hostWeights: () => Promise.reject(new Error('not used')),
      };
      const ws: Record<TransferWeighting, TokenWeighting> = { uniform: uniformWeighting(), uniform_matched: matched, CaMeLS: cw };
      const questions = {} as Record<TransferWeighting, QuestionResult[]>;
      for (const k of TRANSFER_WEIGHTINGS) {
        questions[k] = (await timed('transfer check', () => adaptAndScore(loadBase, tok, testStream, ws[k], { ...adaptOpts(scale.innerLr), optimizer: 'sgd' }, { ...scoreOpts, nllOnly: true }))).questions;
      }
      stamp('transfer', { lr: scale.innerLr, questions });
      log(`${tag}    transfer check (SGD, lr ${scale.innerLr}): test answer NLL ${TRANSFER_WEIGHTINGS.map((k) => `${k} ${mean(questions[k].map((q) => q.nll)).toFixed(3)}`).join(', ')}`);
    } finally {
      dispose();
    }
  }
  if (!('samples' in state.phases)) stamp('samples', await weightSamples(tok, ds.test.slice(0, 3), (m) => weighting(m), device, dtype));
  const seconds = (Date.now() - t0) / 1000;
  return {
    seed,
    documents: ds.test.length,
    questions: testStream.questions.length,
    tokens,
    before,
    methods: methods as Record<Method, MethodSeedResult>,
    meta: { steps: meta.steps, bestVal: meta.bestVal, valHistory: meta.history },
    phaseSeconds,
    samples: state.phases.samples as WeightSample[],
    transfer: state.phases.transfer as TransferResult,
    oracle: state.phases.oracle as MethodSeedResult,
    seconds,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Answer and distractor-value spans of a document, as token flags and weight tallies. */
async function docWeights(tok: HfTokenizer, doc: SyntheticDocument, w: TokenWeighting, device: DeviceName, dtype: DType): Promise<{ pieces: string[]; weights: number[] }> {
  const ids = tok.encode(doc.text);
  const batch = batchToDevice(padBatch([ids], ids.length, specialIds(tok).pad), dtype, device);
  try {
    const weights = (await w.hostWeights(batch))[0]!;
    const pieces = tok.decodeEach(ids);
    if (pieces.join('') !== doc.text) throw new Error(`selectivity: the tokens of ${doc.id} do not decode to its text`);
    return { pieces, weights };
  } finally {
    for (const t of [batch.ids, batch.mask, batch.targets]) t.dispose();
  }
}

async function tallies(tok: HfTokenizer, docs: readonly SyntheticDocument[], w: TokenWeighting, device: DeviceName, dtype: DType) {
  const out = [];
  for (const d of docs) {
    const { pieces, weights } = await docWeights(tok, d, w, device, dtype);
    out.push(tallyWeights(pieces, weights, d.questions.map((q) => q.span), d.distractorSpans));
  }
  return out;
}

async function weightSamples(tok: HfTokenizer, docs: readonly SyntheticDocument[], weighting: (m: Method) => { w: TokenWeighting; dispose: () => void }, device: DeviceName, dtype: DType): Promise<WeightSample[]> {
  const samples: WeightSample[] = docs.map((d) => {
    const pieces = tok.decodeEach(tok.encode(d.text));
    let at = 0;
    const inside = (spans: { start: number; end: number }[]) => pieces.map((p) => { const s = at; at += p.length; return spans.some((sp) => s < sp.end && sp.start < s + p.length); });
    const answer = inside(d.questions.map((q) => q.span));
    at = 0;
    const distractor = inside(d.distractorSpans);
    return { tokens: pieces, answer, distractor, weights: {} };
  });
  for (const m of METHODS) {
    const { w, dispose } = weighting(m);
    try {
      for (let i = 0; i < docs.length; i++) samples[i]!.weights[m] = (await docWeights(tok, docs[i]!, w, device, dtype)).weights;
    } finally {
      dispose();
    }
  }
  return samples;
}
