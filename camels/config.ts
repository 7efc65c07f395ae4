// Task configuration, resolved once into a typed object per task: schemas (camels/config/schemas.ts)
// of the reference's Hydra keys with types, ranges and docs; `key=value` overrides and flags applied
// and checked by camels/config/resolve.ts. Nothing downstream parses strings.

import { DEFAULT_SCHEMA, EVAL_ALIASES, EVAL_FOREIGN, EVAL_SCHEMA, QA_ALIASES, QA_FOREIGN, QA_SCHEMA, TRAIN_ALIASES, TRAIN_FOREIGN, TRAIN_SCHEMA } from './config/schemas.js';
import { defaultsOf, type TaskSchema } from './config/resolve.js';

export { ConfigError, type ConfigOf, type KeySpec, type Schema } from './config/keys.js';
export { applyOverrides, checkConfig, defaultsOf, resolveConfig, resolveResumeConfig, schemaHelp, splitOverrides, type Resolved, type TaskSchema } from './config/resolve.js';
export { COMMON_SCHEMA, DEFAULT_SCHEMA, EVAL_SCHEMA, QA_SCHEMA, TRAIN_SCHEMA, type CommonConfig, type DefaultConfig, type EvalConfig, type QaConfig, type TrainConfig } from './config/schemas.js';

export const TRAIN_TASK: TaskSchema<typeof TRAIN_SCHEMA> = { task: 'meta-train', keys: TRAIN_SCHEMA, foreign: TRAIN_FOREIGN, aliases: TRAIN_ALIASES };
export const EVAL_TASK: TaskSchema<typeof EVAL_SCHEMA> = { task: 'eval', keys: EVAL_SCHEMA, foreign: EVAL_FOREIGN, aliases: EVAL_ALIASES };
/** The embedded default takes only these flags (no key=value; those make a configured run). */
export const DEFAULT_TASK: TaskSchema<typeof DEFAULT_SCHEMA> = { task: 'meta-train (default experiment)', keys: DEFAULT_SCHEMA, foreign: {}, aliases: {} };
export const QA_TASK: TaskSchema<typeof QA_SCHEMA> = { task: 'qa-train', keys: QA_SCHEMA, foreign: QA_FOREIGN, aliases: QA_ALIASES };

/** Each task's defaults as a typed config (spread and override them for programmatic runs). */
export const TRAIN_DEFAULTS = defaultsOf(TRAIN_SCHEMA);
export const EVAL_DEFAULTS = defaultsOf(EVAL_SCHEMA);
export const QA_DEFAULTS = defaultsOf(QA_SCHEMA);
