// camels-gpu/camels: CaMeLS on top of the models — the weight model, token weightings (uniform,
// salient spans, TF-IDF, CaMeLS), weighted losses, the differentiable inner loop, the
// meta-objective, the reference's tasks as functions (QA tuning, meta-training, online
// evaluation), QA metrics, batches and the dataset loaders.

export * from './weight-model.js';
export * from './weighting/weighters.js';
export * from './losses.js';
export * from './inner-loop.js';
export * from './meta-objective.js';
export * from './batch.js';
export * from './metrics.js';
export * from './config.js';
export * from './data/index.js';
export { RunDir } from './runs/run-dir.js';
export { qaLightTune, qaValidate, type LightTuneOptions, type ValMetrics, type StopMetric } from './tasks/qa-train.js';
export { metaTrain, type MetaTrainContext, type MetaTrainData, type MetaTrainResult } from './tasks/meta-train.js';
export { evaluateOnline, type EvalContext, type EvalOutcome, type EvalStream } from './tasks/online-eval.js';
export { lmPretrain, type PretrainOptions } from './tasks/lm-pretrain.js';
export { answerQuestions, type Answer, type DecodingOptions } from './tasks/answer.js';
export { runDefaultExperiment, type DefaultExperimentOptions, type DefaultExperimentResult } from './tasks/default-experiment.js';
