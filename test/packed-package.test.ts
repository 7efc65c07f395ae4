// The README's library examples, run from the *packed* package: `npm pack` (of the dist/ that
// `npm test` builds first), unpacked into a fresh project's node_modules with the dependencies
// linked from this checkout's node_modules (no network), every `<!-- tested: NAME -->` example
// type-checked against the package's .d.ts through its `exports`, compiled, and executed there.
// Deep imports of dist/ must stay closed.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TINY = path.join(ROOT, 'test', 'fixtures', 'golden', 'tiny-gpt2');
const PT = path.join(ROOT, 'test', 'fixtures', 'torch-pt');

/** What each example must print (so a broken example cannot pass by exiting 0). */
const EXPECT: Record<string, RegExp> = {
  engine: /\[ 3, 12, 27 \] \[ 6, 12, 18 \]/,
  models: /^".*" [1-8]$/m,
  torch: /^28 parameters\nfloat32 512x32 true\n33 tensors converted$/m,
  camels: /^\d+\.\d{4} 8$/m, // fc2.weight is [1, 8] in the fixture
};

function readmeExamples(): { name: string; code: string }[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const out: { name: string; code: string }[] = [];
  const re = /<!-- tested: ([\w-]+) -->\s*```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(readme); m; m = re.exec(readme)) out.push({ name: m[1]!, code: m[2]! });
  return out;
}

let project = '';

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'models', 'index.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does it first)');
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-packed-'));
  const packOut = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], { cwd: ROOT, encoding: 'utf8' });
  const tarball = path.join(project, (JSON.parse(packOut) as { filename: string }[])[0]!.filename);
  const nm = path.join(project, 'node_modules');
  fs.mkdirSync(path.join(nm, 'camels-gpu'), { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', path.join(nm, 'camels-gpu'), '--strip-components=1']);
  // The package's dependencies (and theirs), as `npm install` would provide them, without a network.
  for (const dep of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (dep === '.bin' || dep === 'camels-gpu' || dep.startsWith('.')) continue;
    fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(nm, dep));
  }
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'], outDir: 'out', rootDir: 'src' },
    include: ['src'],
  }));
  fs.cpSync(TINY, path.join(project, 'tiny-gpt2'), { recursive: true });
  fs.copyFileSync(path.join(PT, 'tiny-gpt2.state_dict.pt'), path.join(project, 'best_nll.pt'));
  fs.copyFileSync(path.join(TINY, 'weight_model.safetensors'), path.join(project, 'weight_model.safetensors'));
  fs.copyFileSync(path.join(TINY, 'weight_model_config.json'), path.join(project, 'weight_model_config.json'));
  fs.mkdirSync(path.join(project, 'src'));
  for (const ex of readmeExamples()) fs.writeFileSync(path.join(project, 'src', `${ex.name}.ts`), ex.code);
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`the README examples do not type-check against the packed package:\n${tsc.stdout}${tsc.stderr}`);
}, 300_000);

afterAll(() => {
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('the README has the tested examples this test expects', () => {
    expect(readmeExamples().map((e) => e.name).sort()).toEqual(Object.keys(EXPECT).sort());
  });

  for (const name of Object.keys(EXPECT)) {
    it(`README example '${name}' runs from an installed package`, () => {
      const r = spawnSync(process.execPath, [path.join('out', `${name}.js`)], { cwd: project, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CAMELS_DEVICE: 'cpu', HF_HUB_OFFLINE: '1' } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(EXPECT[name]!);
    });
  }

  it('exports the three entry points with types, and nothing deeper', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'camels-gpu', 'package.json'), 'utf8')) as { exports: Record<string, { types?: string }> };
    for (const e of ['.', './models', './camels']) expect(fs.existsSync(path.join(project, 'node_modules', 'camels-gpu', pkg.exports[e]!.types!)), e).toBe(true);
    const probe = `import('camels-gpu/dist/models/pretrained.js').then(() => console.log('open'), (e) => console.log(e.code))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: project, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
