// camels-gpu command line (cac): info, bench, generate, score, convert, qa-train, meta-train, eval.
// Tasks accept the reference's `key=value` overrides (spec section 6) besides their flags.

import { cac } from 'cac';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVAL_TASK, QA_TASK, TRAIN_TASK, schemaHelp } from '../camels/config.js';
import { Interrupted } from '../camels/runs/interrupt.js';
import { parseAndRun } from './argv.js';
import { textOption } from './option-values.js';

const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version: string };
const cli = cac('camels-gpu');

const DEVICE_HELP = 'cpu | webgpu | auto (default: $CAMELS_DEVICE, else webgpu when an adapter exists, else cpu)';

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    process.exit(0);
  } catch (e) {
    if (e instanceof Interrupted) {
      console.error(`camels-gpu: ${e.message}`);
      process.exit(e.exitCode);
    }
    const err = e as Error;
    console.error(`camels-gpu: ${err.message}`);
    if (process.env.CAMELS_DEBUG) console.error(err.stack);
    process.exit(1);
  }
}

cli
  .command('info', 'Show the backend that would run, the WebGPU adapter, its limits and features')
  .option('--device <device>', DEVICE_HELP)
  .option('--json', 'Print JSON')
  .action((opts: { device?: string; json?: boolean }) =>
    run(async () => {
      const { infoCommand } = await import('./commands/info.js');
      await infoCommand(opts);
    }),
  );

cli
  .command('bench <what>', 'Benchmarks: `kernels` (matmul, softmax, layerNorm, attention), `model` (train step and CaMeLS meta step), `default` (the embedded default\'s pre-train step and meta batch) or `reference` (the reference\'s meta-training outer step and GPT-2 XL adaptation step at its default sizes)')
  .option('--device <device>', DEVICE_HELP)
  .option('--json', 'One JSON object per line')
  .option('--profile', 'default: per-kernel times and the share of time outside kernels')
  .option('--op <op>', 'kernels: only this op (matmul, matmul_gpt2, softmax, layerNorm, attention; any case)')
  .option('--size <n>', 'kernels: only this size')
  .option('--config <name>', 'model: gpt2 | distilgpt2 | tiny | gpt2-layers | distilgpt2-layers (the layer structure at width 96, for counting)', { default: 'distilgpt2' })
  .option('--batch <n>', 'model: batch size', { default: 8 })
  .option('--seq <n>', 'model: sequence length', { default: 256 })
  .option('--repeat <n>', 'timed repetitions per case (default: 5; bench default: 15 and 9, as the PyTorch peer)')
  .option('--only <step>', 'model: only the train step (train) or only the CaMeLS meta step (meta); default: pretrain or meta; reference: outer or adapt')
  .option('--quick', 'reference: the same steps on small configs (checks the path on any device)')
  .option('--count-only', 'model, webgpu: record the kernels without running them — exact kernel / dispatch / bind-group counts and peak memory at sizes a software adapter cannot run; ms is then the host\'s recording time')
  .option('--warmup <n>', 'untimed runs before timing (default: 1; bench default: 3 and 2; 0 times the first run, pipeline compilation included)')
  .action((what: string, opts: Record<string, unknown>) =>
    run(async () => {
      const { benchCommand } = await import('./commands/bench.js');
      await benchCommand(what, opts);
    }),
  );

cli
  .command('generate', 'Generate text from a Hugging Face model directory (greedy, beam or diverse group beam search)')
  .option('--model <dir|id>', 'Model directory (config.json, weights, tokenizer.json) or Hugging Face id (gpt2, org/name@revision)')
  .option('--prompt <text>', 'Prompt text')
  .option('--max-new-tokens <n>', 'New tokens at most', { default: 32 })
  .option('--num-beams <n>', 'Beams (1 = greedy)', { default: 1 })
  .option('--num-beam-groups <n>', 'Beam groups (diverse beam search)', { default: 1 })
  .option('--diversity-penalty <x>', 'Diversity penalty between groups', { default: 0 })
  .option('--length-penalty <x>', 'Length penalty exponent', { default: 1 })
  .option('--json', 'Print JSON')
  .option('--device <device>', DEVICE_HELP)
  .action((opts: Record<string, unknown>) =>
    run(async () => {
      const { generateCommand } = await import('./commands/generate.js');
      await generateCommand(opts);
    }),
  );

cli
  .command('score', "Token ids and log-probabilities of a text under a model, and the mean loss")
  .option('--model <dir|id>', 'Model directory or Hugging Face id')
  .option('--text <text>', 'Text to score')
  .option('--json', 'Print {"ids": [...], "logprobs": [...], "loss": number}')
  .option('--device <device>', DEVICE_HELP)
  .action((opts: Record<string, unknown>) =>
    run(async () => {
      const model = textOption(opts, 'model', '--model', 'score');
      const text = textOption(opts, 'text', '--text', 'score');
      if (!model || text === undefined) throw new Error('score: --model and --text are required');
      const { setupDevice } = await import('./device-option.js');
      const b = await setupDevice(textOption(opts, 'device', '--device', 'score'));
      const { scoreText } = await import('./commands/score.js');
      const r = await scoreText(model, text, b.name);
      if (opts.json) console.log(JSON.stringify(r));
      else {
        console.log(`ids: ${r.ids.join(' ')}`);
        console.log(`logprobs: ${r.logprobs.map((x) => x.toFixed(4)).join(' ')}`);
        console.log(`loss: ${r.loss.toFixed(6)} (perplexity ${Math.exp(r.loss).toFixed(3)})`);
      }
    }),
  );

cli
  .command('convert <in> <out>', 'A PyTorch checkpoint (.pt / .bin, zip or legacy; read without running pickle code) to a .safetensors file, or with --base to a model directory')
  .option('--base <dir|id>', 'Base model (directory or Hugging Face id) giving config.json and the tokenizer; OUT is then a model directory')
  .option('--json', 'Print the result as JSON')
  .action((input: string, output: string, opts: { base?: string; json?: boolean }) =>
    run(async () => {
      const { convertCommand } = await import('./commands/convert.js');
      await convertCommand(input, output, opts);
    }),
  );

cli
  .command('qa-train [...overrides]', 'QA fine-tuning of a base model with early stopping (train_qa.py)')
  .option('--resume <dir>', 'Continue an interrupted run directory')
  .usage(`qa-train [key=value ...]\n\nQA fine-tuning with early stopping; best-NLL/F1/EM checkpoints saved as HF model dirs.\n${schemaHelp(QA_TASK)}`)
  .option('--device <device>', DEVICE_HELP)
  .allowUnknownOptions()
  .action((overrides: string[], opts: Record<string, unknown>) =>
    run(async () => {
      const { qaTrainCommand } = await import('./commands/tasks.js');
      await qaTrainCommand(overrides, opts);
    }),
  );

cli
  .command('meta-train [...overrides]', 'Meta-train a CaMeLS weight model (run.py task=train); no arguments: the embedded default experiment')
  .usage(`meta-train [key=value ...]\n\nWith no arguments: the embedded default experiment on synthetic data (data, tokenizer, base model\npre-training and QA tuning, meta-training, evaluation of uniform/SSM/TF-IDF/CaMeLS, HTML report).\n--resume DIR continues a run (configured or default) from its own config.json.\n${schemaHelp(TRAIN_TASK)}`)
  .option('--device <device>', DEVICE_HELP)
  .option('--resume <dir>', 'Continue an interrupted run directory')
  .option('--quick', 'Embedded default: a reduced version (for tests)')
  .option('--seed <s>', 'Embedded default: run only seed S')
  .option('--seeds <n>', 'Embedded default: run seeds 0..N-1 (default 3)')
  .allowUnknownOptions()
  .action((overrides: string[], opts: Record<string, unknown>) =>
    run(async () => {
      const { metaTrainCommand } = await import('./commands/tasks.js');
      await metaTrainCommand(overrides, opts);
    }),
  );

cli
  .command('eval [...overrides]', 'Online adaptation + QA evaluation (run.py task=eval)')
  .option('--resume <dir>', 'Continue an interrupted sweep (finished learning rates are kept)')
  .usage(`eval [key=value ...]\n\nweight_model=uniform|ssm|tfidf|CaMeLS; lr may be a comma-separated sweep.\n${schemaHelp(EVAL_TASK)}`)
  .option('--device <device>', DEVICE_HELP)
  .allowUnknownOptions()
  .action((overrides: string[], opts: Record<string, unknown>) =>
    run(async () => {
      const { evalCommand } = await import('./commands/tasks.js');
      await evalCommand(overrides, opts);
    }),
  );

cli.option('--kernels <family>', 'webgpu kernel family: gpu | software | auto (default: $CAMELS_KERNELS, else from the adapter)');
cli.help();
cli.version(pkg.version);
const argv = process.argv;
if (argv.length <= 2) {
  cli.outputHelp();
  process.exit(0);
}
try {
  // Option values stay as typed (cli/argv.ts); --kernels picks the webgpu kernel family before any command runs.
  parseAndRun(cli, argv, (options) => {
    const kernels = options.kernels as unknown;
    if (kernels === undefined) return;
    if (kernels !== 'gpu' && kernels !== 'software' && kernels !== 'auto') throw new Error(`--kernels must be gpu, software or auto, got '${String(kernels)}'`);
    process.env.CAMELS_KERNELS = kernels; // read when the webgpu backend is created
  });
} catch (e) {
  // cac's own checks (unknown option, missing value) and prepareArgv's: usage errors, one line.
  console.error(`camels-gpu: ${(e as Error).message}`);
  if (process.env.CAMELS_DEBUG) console.error((e as Error).stack);
  process.exit(1);
}
if (!cli.matchedCommand && !argv.includes('--help') && !argv.includes('-h') && !argv.includes('--version') && !argv.includes('-v')) {
  console.error(`camels-gpu: unknown command '${cli.args.join(' ')}'; see camels-gpu --help`);
  process.exit(1);
}
