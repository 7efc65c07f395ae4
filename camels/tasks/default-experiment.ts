// The embedded default experiment (`npx camels-gpu meta-train` with no arguments): a complete,
// small, real CaMeLS run on the built-in synthetic dataset, on a machine without a GPU.
//
//   1. synthetic data (fictional facts) with disjoint splits
//   2. a byte-level BPE tokenizer trained on non-test text
//   3. pre-train a small GPT-J (rotary positions) on the QA-pretraining split's documents and cloze
//      questions, then QA-tune it with early stopping
//   4. pre-train a small GPT-2 body and meta-train the CaMeLS weight model around it (exact
//      second-order meta-gradients through sequential SGD on the GPT-J)
//   5. choose each method's adaptation learning rate on the validation split
//   6. evaluate uniform, SSM, TF-IDF and CaMeLS on the held-out test stream (Adam, one step per
//      document per pass, `streamEpochs` passes), answers by diverse beam search
//
// Honesty rules: seeds fixed; nothing is tuned on the test split (learning rates are picked on the
// validation split); the test documents never reach pre-training, the tokenizer or meta-training
// (TF-IDF's document frequencies do include them, as the reference fits on the whole dataset).
// Each phase records its outputs in the run's state, so --resume skips finished phases.

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../../engine/index.js';
import type { DType, DeviceName } from '../../engine/index.js';
import { trainByteLevelBpe, writeTokenizerDir } from '../../models/bpe-trainer.js';
import { parseHfConfig } from '../../models/hf-config.js';
import { disposeModel, initModel, loadPretrained, savePretrained, type CausalLM } from '../../models/pretrained.js';
import { loadTokenizer, type HfTokenizer } from '../../models/tokenizer.js';
import { EVAL_DEFAULTS, QA_DEFAULTS, TRAIN_DEFAULTS, type EvalConfig, type TrainConfig } from '../config.js';
import { generateSyntheticDataset, syntheticCorpus, syntheticQaExamples, type SyntheticDataset } from '../data/synthetic.js';
import type { QaExample } from '../data/types.js';
import { writeReport, type ReportInput } from '../report/report.js';
import { sampleTokenWeights } from '../report/samples.js';
import { fmt } from '../runs/progress.js';
import { setResumeHint } from '../runs/interrupt.js';
import { RunDir, writeAtomic } from '../runs/run-dir.js';
import { loadWeightModel, newWeightModel } from '../weight-model.js';
import { camelsWeighting, ssmWeighting, tfidfWeighting, uniformWeighting, type TokenWeighting } from '../weighting/weighters.js';
import { lmPretrain } from './lm-pretrain.js';
import { metaTrain } from './meta-train.js';
import { evaluateOnline, type EvalOutcome, type EvalStream } from './online-eval.js';
import { qaLightTune } from './qa-train.js';
import { specialIds, tokenizeDocument, tokenizeQa } from './tokenize.js';

/** Sizes of the default experiment; `quick` is the reduced version the test suite runs. */
export interface DefaultScale {
  docs: { qaPretrain: number; metaTrain: number; validation: number; test: number };
  vocabSize: number;
  /** The base LM: a GPT-J (rotary positions transfer a memorised sentence to a prompt at another position). */
  model: { n_embd: number; n_layer: number; n_head: number; n_positions: number; dropout: number; rotary_dim: number };
  /** The weight model's GPT-2 body (the reference uses a pre-trained DistilGPT-2), pre-trained here on the documents. */
  wmBody: { n_embd: number; n_layer: number; n_head: number; steps: number };
  pretrainSteps: number;
  pretrainBatch: number;
  qaTuneMaxSteps: number;
  metaOuterSteps: number;
  updateBatchSize: number;
  weightModelHidden: number;
  /** Validation documents used to choose each method's learning rate. */
  lrSelectDocs: number;
  lrGrid: number[];
  numBeams: number;
  numBeamGroups: number;
  /** Distractor sentences per synthetic document. */
  distractors: number;
  /** Passes over the stream at evaluation (the reference's n_epochs; one Adam step per document per pass). */
  streamEpochs: number;
  pretrainLr: number;
  qaTuneLr: number;
  innerLr: number;
  outerLr: number;
}

export const FULL_SCALE: DefaultScale = {
  docs: { qaPretrain: 200, metaTrain: 240, validation: 24, test: 16 },
  vocabSize: 768,
  model: { n_embd: 64, n_layer: 2, n_head: 4, n_positions: 128, dropout: 0.05, rotary_dim: 16 },
  wmBody: { n_embd: 32, n_layer: 1, n_head: 2, steps: 150 },
  pretrainSteps: 300,
  pretrainBatch: 8,
  qaTuneMaxSteps: 60,
  metaOuterSteps: 30,
  updateBatchSize: 4,
  weightModelHidden: 32,
  lrSelectDocs: 8,
  lrGrid: [1e-3, 3e-3],
  numBeams: 12,
  numBeamGroups: 4,
  distractors: 2,
  streamEpochs: 8,
  pretrainLr: 3e-3,
  qaTuneLr: 1e-3,
  innerLr: 1e-1,
  outerLr: 1e-3,
};

export const QUICK_SCALE: DefaultScale = {
  docs: { qaPretrain: 24, metaTrain: 16, validation: 4, test: 4 },
  vocabSize: 400,
  model: { n_embd: 16, n_layer: 1, n_head: 2, n_positions: 160, dropout: 0.05, rotary_dim: 8 },
  wmBody: { n_embd: 16, n_layer: 1, n_head: 2, steps: 3 },
  pretrainSteps: 6,
  pretrainBatch: 4,
  qaTuneMaxSteps: 2,
  metaOuterSteps: 2,
  updateBatchSize: 2,
  weightModelHidden: 8,
  lrSelectDocs: 2,
  lrGrid: [1e-3],
  numBeams: 4,
  numBeamGroups: 2,
  distractors: 1,
  streamEpochs: 2,
  pretrainLr: 3e-3,
  qaTuneLr: 1e-3,
  innerLr: 3e-2,
  outerLr: 3e-4,
};

interface PhaseState {
  phases: Record<string, unknown>;
}

export interface DefaultExperimentOptions {
  device: DeviceName;
  outputs: string;
  resume?: string | null;
  quick?: boolean;
  seed?: number;
  /** Override parts of the scale (experiments). */
  scale?: Partial<DefaultScale>;
  log?: (line: string) => void;
}

export interface DefaultExperimentResult {
  runDir: string;
  table: EvalOutcome[];
  seconds: number;
  report: string;
}

const METHODS = ['uniform', 'ssm', 'tfidf', 'CaMeLS'] as const;

/** The default asks every question in its cloze form (see camels/data/synthetic.ts): a small model
 * trained for minutes on two cores cannot learn to map natural questions onto facts it read, but it
 * can complete a sentence it memorised while adapting on the document. */
function qaRows(ds: SyntheticDataset, split: keyof Omit<SyntheticDataset, 'seed'>): QaExample[] {
  return syntheticQaExamples(ds[split], { cloze: true });
}

function streamOf(docs: SyntheticDataset['test']): EvalStream {
  return { documents: docs.map((d) => d.text), questions: syntheticQaExamples(docs, { cloze: true }) };
}

export async function runDefaultExperiment(opts: DefaultExperimentOptions): Promise<DefaultExperimentResult> {
  const scale: DefaultScale = { ...(opts.quick ? QUICK_SCALE : FULL_SCALE), ...opts.scale };
  const seed = opts.seed ?? 0;
  const log = opts.log ?? ((l: string) => console.log(l));
  const t0 = Date.now();
  const device = opts.device;
  const dtype: DType = 'float32';
  const run = opts.resume ? RunDir.open(opts.resume) : RunDir.create(opts.outputs, 'meta-train', 'synthetic');
  const state: PhaseState = { phases: {} };
  const save = () => writeAtomic(run.path('default-state.json'), JSON.stringify(state, null, 2));
  const phaseDone = (p: string) => p in state.phases;
  const stamp = (p: string, info: unknown) => {
    state.phases[p] = info;
    save();
    run.log(`phase ${p} done: ${JSON.stringify(info)}`);
  };
  if (fs.existsSync(run.path('default-state.json'))) Object.assign(state, JSON.parse(fs.readFileSync(run.path('default-state.json'), 'utf8')));
  setResumeHint(run.dir, `camels-gpu meta-train --resume ${run.dir}`);
  log(`camels-gpu default experiment → ${run.dir}`);
  log(`device: ${device === 'cpu' ? 'cpu' : E.getBackend(device).adapterName}; scale: ${opts.quick ? 'quick (test)' : 'full'}`);

  // 1. data
  const ds = generateSyntheticDataset({ seed, ...scale.docs, distractors: scale.distractors });
  const baseCfg: TrainConfig = { ...TRAIN_DEFAULTS, seed, dataset: 'synthetic', max_text_len: scale.model.n_positions, max_question_len: 48, max_answer_len: 16 };
  run.writeConfig({ ...baseCfg, default_scale: JSON.stringify(scale) });
  const counts = Object.fromEntries((['qaPretrain', 'metaTrain', 'validation', 'test'] as const).map((s) => [s, { documents: ds[s].length, questions: qaRows(ds, s).length }]));
  log(`1/6 data: ${Object.entries(counts).map(([k, v]) => `${k} ${v.documents} docs / ${v.questions} questions`).join('; ')}`);

  // 2. tokenizer (never sees the test split)
  const tokDir = run.path('tokenizer');
  if (!phaseDone('tokenizer')) {
    const corpus = syntheticCorpus({ ...ds, test: [] });
    const tj = trainByteLevelBpe(corpus, { vocabSize: scale.vocabSize, specialTokens: ['<|endoftext|>'] });
    writeTokenizerDir(tokDir, tj, { eosToken: '<|endoftext|>', bosToken: '<|endoftext|>', unkToken: '<|endoftext|>', modelMaxLength: scale.model.n_positions });
    stamp('tokenizer', { vocab: Object.keys(tj.model.vocab).length + tj.added_tokens.length });
  }
  const tok = loadTokenizer(tokDir);
  const { pad, eos } = specialIds(tok);
  log(`2/6 tokenizer: byte-level BPE, ${tok.vocabSize} tokens`);
  const docLens = ds.test.map((d) => tok.encode(d.text).length);
  const T = scale.model.n_positions;
  const cfg: TrainConfig = { ...baseCfg, max_text_len: T };

  // 3. base model: pre-train then QA-tune
  const baseDir = run.path('base-model');
  const hfRaw = {
    model_type: 'gptj',
    architectures: ['GPTJForCausalLM'],
    vocab_size: tok.vocabSize,
    n_positions: T,
    n_embd: scale.model.n_embd,
    n_layer: scale.model.n_layer,
    n_head: scale.model.n_head,
    rotary_dim: scale.model.rotary_dim,
    resid_pdrop: scale.model.dropout,
    embd_pdrop: scale.model.dropout,
    attn_pdrop: 0,
    bos_token_id: eos,
    eos_token_id: eos,
    activation_function: 'gelu_new',
    tie_word_embeddings: false,
  };
  const hfConfig = parseHfConfig(hfRaw, 'default-experiment');
  if (!phaseDone('base')) {
    const model = initModel(hfConfig, hfRaw, { seed: seed + 1, device, dtype });
    try {
      const pre = ds.qaPretrain;
      const docsTok = pre.map((d) => tokenizeDocument(tok, d.text, T).ids);
      const qaTok = qaRows(ds, 'qaPretrain').map((r) => {
        const q = tokenizeQa(tok, r, 48, 16);
        return [...q.question, ...q.answer];
      });
      // Language of the synthetic world (documents) mixed with the answer format (cloze + answer + EOS),
      // packed into full rows.
      const seqs = [...docsTok, ...qaTok];
      const t = Date.now();
      const loss = await lmPretrain(model, seqs, run, { steps: scale.pretrainSteps, batchSize: scale.pretrainBatch, seqLen: T, lr: scale.pretrainLr, warmup: Math.min(50, scale.pretrainSteps), seed: seed + 2, padId: pad, label: 'pre-train', packSeparator: eos });
      log(`3/6 pre-train: ${scale.pretrainSteps} steps, final loss ${loss.toFixed(3)} (${fmt((Date.now() - t) / 1000)})`);
      // QA tuning with early stopping on held-out QA-pretraining questions (their documents were seen).
      const rows = qaRows(ds, 'qaPretrain');
      const nVal = Math.max(4, Math.floor(rows.length * 0.1));
      const qaCfg = { ...QA_DEFAULTS, ...cfg, max_question_len: 48, max_answer_len: 16, seed };
      const t2 = Date.now();
      const lt = await qaLightTune(model, tok, rows.slice(nVal), rows.slice(0, nVal), qaCfg, run, {
        lr: scale.qaTuneLr,
        batchSize: 16,
        gradAcc: 1,
        clip: 1,
        valSteps: Math.max(1, Math.floor(scale.qaTuneMaxSteps / 5)),
        patience: 2,
        metric: 'max_f1',
        maxSteps: scale.qaTuneMaxSteps,
        label: 'qa-tune',
        valGenerate: opts.quick ? 4 : 48,
      });
      log(`   qa-tune: best max_f1 ${lt.best.max_f1.toFixed(3)} at step ${lt.best.step} (${fmt((Date.now() - t2) / 1000)})`);
      await savePretrained(model, baseDir);
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tokDir, f), path.join(baseDir, f));
      stamp('base', { pretrainLoss: loss, qaBest: lt.best });
    } finally {
      disposeModel(model);
    }
  } else log('3/6 base model: already trained (resumed)');
  const loadBase = (): CausalLM => loadPretrained(baseDir, { device, dtype });

  // 4. meta-train the CaMeLS weight model (body initialised from the pre-trained base's transformer)
  const wmDir = run.path('weight-model');
  const metaCfg: TrainConfig = {
    ...cfg,
    update_batch_size: scale.updateBatchSize,
    reset_base_freq: scale.updateBatchSize * 2,
    grad_acc_steps: 2,
    val_steps: Math.max(1, Math.floor(scale.metaOuterSteps / 3)),
    max_outer_steps: scale.metaOuterSteps,
    n_epochs: 1000,
    outer_lr: scale.outerLr,
    inner_lr: scale.innerLr,
    c_kl: 0.1,
    max_question_len: 48,
    max_answer_len: 16,
    val_batches: opts.quick ? 1 : 4,
  };
  if (!phaseDone('meta')) {
    const base = loadBase();
    // The weight model's body: a small GPT-2 pre-trained on the same documents (as the reference
    // starts from a pre-trained DistilGPT-2), then meta-trained with its head.
    const bodyRaw = {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      vocab_size: tok.vocabSize,
      n_positions: T,
      n_embd: scale.wmBody.n_embd,
      n_layer: scale.wmBody.n_layer,
      n_head: scale.wmBody.n_head,
      resid_pdrop: 0.1,
      embd_pdrop: 0.1,
      attn_pdrop: 0.1,
      bos_token_id: eos,
      eos_token_id: eos,
      tie_word_embeddings: true,
    };
    const bodyLm = initModel(parseHfConfig(bodyRaw, 'default-experiment weight-model body'), bodyRaw, { seed: seed + 4, device, dtype });
    const tb = Date.now();
    await lmPretrain(bodyLm, ds.qaPretrain.map((d) => tokenizeDocument(tok, d.text, T).ids), run, { steps: scale.wmBody.steps, batchSize: scale.pretrainBatch, seqLen: T, lr: scale.pretrainLr, warmup: Math.min(20, scale.wmBody.steps), seed: seed + 5, padId: pad, label: 'pre-train weight-model body', packSeparator: eos });
    log(`   weight-model body (GPT-2, d=${scale.wmBody.n_embd}): pre-trained in ${fmt((Date.now() - tb) / 1000)}`);
    const bodyParams: Record<string, E.Tensor> = {};
    for (const [k, t] of Object.entries(bodyLm.params)) if (k.startsWith('transformer.')) bodyParams[k] = t;
    for (const [k, t] of Object.entries(bodyLm.params)) if (!k.startsWith('transformer.')) t.dispose();
    const wm = newWeightModel(bodyLm.config, bodyRaw, bodyParams, scale.weightModelHidden, seed + 3);
    for (const t of Object.values(base.params)) t.requiresGrad = true;
    try {
      const metaRun = new RunDir(wmDir);
      metaRun.writeConfig(metaCfg);
      const t = Date.now();
      const r = await metaTrain(
        {
          run: metaRun,
          tokenizer: tok,
          base,
          wm,
          data: { train: qaRows(ds, 'metaTrain'), val: qaRows(ds, 'validation'), loc: ds.qaPretrain.map((d) => d.text), locVal: ds.qaPretrain.slice(0, 8).map((d) => d.text) },
          device,
          dtype,
        },
        metaCfg,
      );
      log(`4/6 meta-train: ${r.outerSteps} outer steps, best validation loss ${r.bestVal.toFixed(4)} (${fmt((Date.now() - t) / 1000)})`);
      stamp('meta', { best: r.bestCheckpoint, bestVal: r.bestVal, steps: r.outerSteps });
    } finally {
      disposeModel(base);
      for (const t of Object.values(wm.params)) t.dispose();
    }
  } else log('4/6 meta-train: already done (resumed)');
  const best = (state.phases.meta as { best: string }).best;

  // 5–6. evaluation: learning rate per method chosen on validation, then the test stream
  const evalCfg: EvalConfig = {
    ...EVAL_DEFAULTS,
    max_text_len: T,
    max_question_len: 48,
    max_answer_len: 16,
    num_beams: scale.numBeams,
    num_beam_groups: scale.numBeamGroups,
    diversity_penalty: 10,
    max_new_tokens: 16,
    n_epochs: scale.streamEpochs,
    eval_init: false,
    seed,
  };
  const tfidfCorpus = [...ds.qaPretrain, ...ds.metaTrain, ...ds.validation, ...ds.test].map((d) => d.text); // the reference fits on the whole dataset, test included (spec 1.5)
  const weighting = (m: (typeof METHODS)[number]): { w: TokenWeighting; dispose: () => void } => {
    if (m === 'uniform') return { w: uniformWeighting(), dispose: () => {} };
    if (m === 'ssm') return { w: ssmWeighting(tok), dispose: () => {} };
    if (m === 'tfidf') return { w: tfidfWeighting(tok, tfidfCorpus, null), dispose: () => {} };
    const wm = loadWeightModel(best, best.replace(/\.safetensors$/, '') + '.config.json', { device, dtype });
    return { w: camelsWeighting(wm), dispose: () => Object.values(wm.params).forEach((t) => t.dispose()) };
  };
  const evalDir = run.path('eval');
  const results: EvalOutcome[] = (state.phases.eval as EvalOutcome[] | undefined) ?? [];
  const valStream = streamOf(ds.validation.slice(0, scale.lrSelectDocs));
  const testStream = streamOf(ds.test);
  const lrChoice = (state.phases.lrChoice as Record<string, number> | undefined) ?? {};
  for (const m of METHODS) {
    if (results.some((r) => r.weighting === (m === 'CaMeLS' ? 'CaMeLS' : m))) continue;
    const { w, dispose } = weighting(m);
    try {
      if (lrChoice[m] === undefined) {
        let bestLr = scale.lrGrid[0]!;
        let bestF1 = -1;
        if (scale.lrGrid.length > 1) {
          for (const lr of scale.lrGrid) {
            const r = await evaluateOnline({ run: new RunDir(path.join(evalDir, 'lr-select')), tokenizer: tok, loadBase, weighting: w, stream: valStream, device, dtype, tag: `${m}-lr${lr}-` }, evalCfg, lr);
            log(`5/6 lr selection (validation) ${m} lr ${lr}: F1 ${r.final!.maxF1.mean.toFixed(3)}`);
            if (r.final!.maxF1.mean > bestF1) {
              bestF1 = r.final!.maxF1.mean;
              bestLr = lr;
            }
          }
        }
        lrChoice[m] = bestLr;
        stamp('lrChoice', lrChoice);
      }
      const r = await evaluateOnline({ run: new RunDir(evalDir), tokenizer: tok, loadBase, weighting: w, stream: testStream, device, dtype, tag: `${m}-` }, { ...evalCfg, eval_init: results.length === 0 }, lrChoice[m]!);
      results.push(r);
      stamp('eval', results);
      log(`6/6 test ${m}: lr ${r.lr}, EM ${(100 * r.final!.em).toFixed(1)}, F1 ${(100 * r.final!.maxF1.mean).toFixed(1)}`);
    } finally {
      dispose();
    }
  }

  // table, report
  const seconds = (Date.now() - t0) / 1000;
  const init = results.find((r) => r.init)?.init ?? null;
  const lines = [
    `Test stream: ${testStream.documents.length} documents, ${testStream.questions.length} questions (tokens per document: ${Math.min(...docLens)}–${Math.max(...docLens)})`,
    '',
    '| weighting | lr | EM (ref., %) | EM (std., %) | F1 (%) |',
    '|---|---|---|---|---|',
    ...(init ? [`| before adaptation | – | ${(100 * init.em).toFixed(1)} | ${(100 * init.emStandard).toFixed(1)} | ${(100 * init.maxF1.mean).toFixed(1)} |`] : []),
    ...results.map((r) => `| ${r.weighting} | ${r.lr} | ${(100 * r.final!.em).toFixed(1)} | ${(100 * r.final!.emStandard).toFixed(1)} | ${(100 * r.final!.maxF1.mean).toFixed(1)} |`),
  ];
  const table = lines.join('\n');
  writeAtomic(run.path('results.md'), table + '\n');
  writeAtomic(run.path('results.json'), JSON.stringify({ seconds, device, results, lrChoice }, null, 2));
  const reportInput: ReportInput = {
    title: 'camels-gpu default experiment',
    runDir: run.dir,
    table: results,
    init,
    metrics: run.readMetrics().concat(new RunDir(wmDir).readMetrics()),
    samples: await sampleWeights(tok, ds.test.slice(0, 3).map((d) => d.text), T, best, device, dtype, tfidfCorpus),
    notes: [`device: ${device}`, `seconds: ${seconds.toFixed(0)}`, `learning rates chosen on validation: ${JSON.stringify(lrChoice)}`],
  };
  const report = writeReport(run.path('report.html'), reportInput);
  log('');
  log(table);
  log('');
  log(`done in ${fmt(seconds)}; report: ${report}`);
  return { runDir: run.dir, table: results, seconds, report };
}

/** Per-token weights of a few documents under every method, for the report's colour maps. */
async function sampleWeights(tok: HfTokenizer, texts: string[], T: number, wmFile: string, device: DeviceName, dtype: DType, tfidfCorpus: string[]): Promise<ReportInput['samples']> {
  const wm = loadWeightModel(wmFile, wmFile.replace(/\.safetensors$/, '') + '.config.json', { device, dtype });
  try {
    return await sampleTokenWeights(tok, texts, T, [uniformWeighting(), ssmWeighting(tok), tfidfWeighting(tok, tfidfCorpus, null), camelsWeighting(wm)], device, dtype);
  } finally {
    Object.values(wm.params).forEach((t) => t.dispose());
  }
}
