// The typed task configs: every key parses and range-checks its value with an error naming the key;
// reference keys without meaning here are noticed (or refused when they ask for the unimplemented);
// a resume may change only resume-safe keys; --help lists every key of the schema.

import { describe, expect, it } from 'vitest';
import { EVAL_TASK, QA_TASK, TRAIN_DEFAULTS, TRAIN_TASK, checkConfig, resolveConfig, resolveResumeConfig, schemaHelp, TRAIN_SCHEMA } from '../../camels/config.js';

describe('resolveConfig', () => {
  it('parses each key by its type and keeps text as written', () => {
    const { cfg, notices } = resolveConfig(EVAL_TASK, ['lr=1e-4,2.5e-5', 'num_beams=8', 'eval_init=true', 'weight_model=camels', 'notes=007', 'downsample_to=-1', 'base_model=/m/1.50']);
    expect(cfg.lr).toEqual([1e-4, 2.5e-5]);
    expect(cfg.num_beams).toBe(8);
    expect(cfg.eval_init).toBe(true);
    expect(cfg.weight_model).toBe('CaMeLS');
    expect(cfg.notes).toBe('007');
    expect(cfg.base_model).toBe('/m/1.50');
    expect(cfg.downsample_to).toBe(-1);
    expect(notices).toEqual([]);
  });

  it.each([
    [TRAIN_TASK, 'grad_acc_steps=0', "'grad_acc_steps' must be an integer ≥ 1, got 0"],
    [TRAIN_TASK, 'update_batch_size=-1', "'update_batch_size' must be an integer ≥ 1, got -1"],
    [TRAIN_TASK, 'update_batch_size=0', "'update_batch_size' must be an integer ≥ 1, got 0"],
    [TRAIN_TASK, 'inner_lr=0', "'inner_lr' must be a number > 0, got 0"],
    [TRAIN_TASK, 'inner_lr=inf', "'inner_lr' expects a finite number, got 'inf'"],
    [TRAIN_TASK, 'outer_lr=nan', "'outer_lr' expects a finite number, got 'nan'"],
    [TRAIN_TASK, 'max_text_len=0', "'max_text_len' must be an integer ≥ 2, got 0"],
    [TRAIN_TASK, 'val=maybe', "'val' expects true or false, got 'maybe'"],
    [TRAIN_TASK, 'max_outer_steps=0', "'max_outer_steps' must be an integer ≥ 1 or -1, got 0"],
    [TRAIN_TASK, 'n_epochs=1.5', "'n_epochs' must be an integer, got 1.5"],
    [TRAIN_TASK, 'weight_model=ssm', "'weight_model' must be one of CaMeLS, got 'ssm'"],
    [QA_TASK, 'lt_batch_size=0', "'lt_batch_size' must be an integer ≥ 1, got 0"],
    [QA_TASK, 'grad_acc_steps=0', "'grad_acc_steps' must be an integer ≥ 1, got 0"],
    [QA_TASK, 'stopping_metric=loss', "'stopping_metric' must be one of nll, max_f1, avg_f1, exact_match, got 'loss'"],
    [EVAL_TASK, 'downsample_to=0', "'downsample_to' must be an integer ≥ 1 or -1, got 0"],
    [EVAL_TASK, 'lr=1e-4,,1e-5', "'lr' expects numbers separated by commas"],
    [EVAL_TASK, 'lr=1e-4,-1', "'lr': every value must be a finite number > 0, got -1"],
    [EVAL_TASK, 'min_threshold=1.5', "'min_threshold' must be a number ≥ 0 and ≤ 1, got 1.5"],
    [EVAL_TASK, 'optimizer=adafactor', "'optimizer' must be one of adam, sgd, got 'adafactor'"],
    [EVAL_TASK, 'batch_size=0', "'batch_size' must be an integer ≥ 1, got 0"],
  ] as const)('%s: %s is refused naming the key', (task, arg, message) => {
    expect(() => resolveConfig(task as typeof TRAIN_TASK, [arg])).toThrow(message);
  });

  it('suggests close keys for an unknown one', () => {
    expect(() => resolveConfig(TRAIN_TASK, ['inner_lrr=1'])).toThrow(/unknown key 'inner_lrr' \(did you mean inner_lr/);
    expect(() => resolveConfig(TRAIN_TASK, ['novalue'])).toThrow("expected key=value, got 'novalue'");
  });

  it('accepts the reference keys that have no meaning here with a notice, and refuses unimplemented requests', () => {
    const r = resolveConfig(TRAIN_TASK, ['wandb_log=true', 'bm_learned_layers=-1', 'c_norm=0.1']);
    expect(r.notices.map((n) => n.split(':')[1]!.trim())).toEqual(["'wandb_log=true' is ignored", "'bm_learned_layers=-1' is ignored"]);
    expect(r.cfg.c_norm).toBe(0.1);
    expect(resolveConfig(EVAL_TASK, ['lt_grad_acc_steps=4', 'eval=[em]']).notices).toHaveLength(2);
    expect(() => resolveConfig(TRAIN_TASK, ['bm_learned_layers=3'])).toThrow("'bm_learned_layers=3' is not supported: all base layers are trained");
    expect(() => resolveConfig(EVAL_TASK, ['eval=ppl'])).toThrow("'eval=ppl' is not supported");
  });

  it('maps the reference spellings of train_qa.py and run.py', () => {
    expect(resolveConfig(QA_TASK, ['model=/m/distilgpt2', 'load_state_dict_path=/q.pt']).cfg).toMatchObject({ base_model: '/m/distilgpt2', base_model_state_dict: '/q.pt' });
    expect(resolveConfig(EVAL_TASK, ['model=ssm']).cfg.weight_model).toBe('ssm');
    // the weight model's normalize option is a real key now, under both spellings
    const normalizeOf = (o: string[]) => [resolveConfig(TRAIN_TASK, o), resolveConfig(EVAL_TASK, o)].map((r) => [r.cfg.normalize, r.notices.length]);
    expect(normalizeOf([])).toEqual([[false, 0], [false, 0]]);
    expect(normalizeOf(['normalize=true'])).toEqual([[true, 0], [true, 0]]);
    expect(normalizeOf(['weight_model.normalize=true'])).toEqual([[true, 0], [true, 0]]);
  });

  it('checks programmatic configs too', () => {
    expect(() => checkConfig(TRAIN_SCHEMA, { ...TRAIN_DEFAULTS, grad_acc_steps: 0 })).toThrow("'grad_acc_steps' must be an integer ≥ 1, got 0");
    expect(checkConfig(TRAIN_SCHEMA, { ...TRAIN_DEFAULTS })).toEqual(TRAIN_DEFAULTS);
  });
});

describe('resolveResumeConfig', () => {
  const stored = { ...resolveConfig(TRAIN_TASK, ['inner_lr=0.01', 'max_outer_steps=10']).cfg };

  it("starts from the run's own config and allows the resume-safe keys to change", () => {
    const { cfg } = resolveResumeConfig(TRAIN_TASK, stored, '/runs/a', ['max_outer_steps=20', 'device=cpu']);
    expect(cfg.inner_lr).toBe(0.01);
    expect(cfg.max_outer_steps).toBe(20);
    expect(cfg.resume).toBe('/runs/a');
  });

  it('refuses every other change, listing the differing keys', () => {
    expect(() => resolveResumeConfig(TRAIN_TASK, stored, '/runs/a', ['inner_lr=0.1', 'c_kl=0.5'])).toThrow(/cannot change on resume: inner_lr: run has 0.01, given 0.1; c_kl: run has 0.1, given 0.5/);
    // Restating the stored value is not a change.
    expect(resolveResumeConfig(TRAIN_TASK, stored, '/runs/a', ['inner_lr=0.01']).cfg.inner_lr).toBe(0.01);
  });

  it('refuses a stored config whose values are out of range', () => {
    expect(() => resolveResumeConfig(TRAIN_TASK, { ...stored, grad_acc_steps: 0 }, '/runs/a', [])).toThrow("'grad_acc_steps' must be an integer ≥ 1, got 0");
  });
});

describe('--help text', () => {
  it('lists every key with its default, type and doc, and the ignored reference keys', () => {
    for (const t of [TRAIN_TASK, EVAL_TASK, QA_TASK]) {
      const help = schemaHelp(t);
      for (const [k, spec] of Object.entries(t.keys)) {
        expect(help).toContain(`  ${k}=`);
        expect(help).toContain(spec.doc);
      }
      for (const k of Object.keys(t.foreign)) expect(help).toContain(`  ${k}: `);
    }
  });
});
