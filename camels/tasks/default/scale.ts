// Sizes and hyperparameters of the embedded default experiment. FULL_SCALE is what
// `npx camels-gpu meta-train` runs (sized so that three seeds fit in 15 minutes on a 2-core machine
// without a GPU); QUICK_SCALE is the reduced version the test suite runs.

export interface DefaultScale {
  docs: { qaPretrain: number; metaTrain: number; validation: number; test: number };
  /** Distractor facts per synthetic document. */
  distractors: number;
  vocabSize: number;
  /** The base LM: a GPT-J (rotary positions transfer a memorised sentence to a prompt at another position). */
  model: { n_embd: number; n_layer: number; n_head: number; n_positions: number; dropout: number; rotary_dim: number };
  /** The weight model's GPT-2 body (the reference uses a pre-trained DistilGPT-2), pre-trained here on the documents. */
  wmBody: { n_embd: number; n_layer: number; n_head: number; steps: number };
  pretrainSteps: number;
  pretrainBatch: number;
  pretrainLr: number;
  qaTuneMaxSteps: number;
  qaTuneLr: number;
  metaOuterSteps: number;
  /** Meta-validation every this many outer steps (best checkpoint kept). */
  metaValEvery: number;
  metaValBatches: number;
  updateBatchSize: number;
  /** Meta-batches per outer Adam step (the reference's grad_acc_steps). */
  metaGradAcc: number;
  /** Documents after which the meta-training inner loop resets the adapted base (a multiple of updateBatchSize). */
  resetBaseFreq: number;
  weightModelHidden: number;
  /** The reference's `normalize` weight-model option: weights rescaled to mean 1 per document. */
  weightNormalize: boolean;
  innerLr: number;
  outerLr: number;
  cKl: number;
  /** Validation documents whose questions choose each method's learning rate. */
  lrSelectDocs: number;
  /** Starting grid of adaptation learning rates, extended by lrFactor until the best is interior. */
  lrGrid: number[];
  lrFactor: number;
  lrMaxExtensions: number;
  /** Passes over the stream at evaluation (the reference's n_epochs = 1). */
  streamEpochs: number;
  /** Decoding, the same for every method. */
  numBeams: number;
  numBeamGroups: number;
  maxNewTokens: number;
}

export const FULL_SCALE: DefaultScale = {
  docs: { qaPretrain: 160, metaTrain: 200, validation: 24, test: 20 },
  distractors: 3,
  vocabSize: 1024,
  model: { n_embd: 64, n_layer: 2, n_head: 4, n_positions: 144, dropout: 0.05, rotary_dim: 16 },
  wmBody: { n_embd: 32, n_layer: 1, n_head: 2, steps: 60 },
  pretrainSteps: 160,
  pretrainBatch: 8,
  pretrainLr: 3e-3,
  qaTuneMaxSteps: 40,
  qaTuneLr: 1e-3,
  metaOuterSteps: 120,
  metaValEvery: 20,
  metaValBatches: 6,
  updateBatchSize: 4,
  metaGradAcc: 4,
  resetBaseFreq: 20,
  weightModelHidden: 32,
  weightNormalize: false,
  innerLr: 1e-1,
  outerLr: 3e-3,
  cKl: 0.1,
  lrSelectDocs: 20,
  lrGrid: [1e-3, 3.16e-3, 1e-2],
  lrFactor: Math.sqrt(10),
  lrMaxExtensions: 3,
  streamEpochs: 1,
  numBeams: 1,
  numBeamGroups: 1,
  maxNewTokens: 12,
};

export const QUICK_SCALE: DefaultScale = {
  docs: { qaPretrain: 24, metaTrain: 16, validation: 4, test: 4 },
  distractors: 2,
  vocabSize: 400,
  model: { n_embd: 16, n_layer: 1, n_head: 2, n_positions: 256, dropout: 0.05, rotary_dim: 8 },
  wmBody: { n_embd: 16, n_layer: 1, n_head: 2, steps: 3 },
  pretrainSteps: 6,
  pretrainBatch: 4,
  pretrainLr: 3e-3,
  qaTuneMaxSteps: 2,
  qaTuneLr: 1e-3,
  metaOuterSteps: 2,
  metaValEvery: 1,
  metaValBatches: 1,
  updateBatchSize: 2,
  metaGradAcc: 2,
  resetBaseFreq: 4,
  weightModelHidden: 8,
  weightNormalize: false,
  innerLr: 3e-2,
  outerLr: 3e-4,
  cKl: 0.1,
  lrSelectDocs: 2,
  lrGrid: [1e-3, 3.16e-3],
  lrFactor: Math.sqrt(10),
  lrMaxExtensions: 1,
  streamEpochs: 1,
  numBeams: 1,
  numBeamGroups: 1,
  maxNewTokens: 8,
};
