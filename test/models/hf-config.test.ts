// Hugging Face config.json: the golden fixtures parse to the right normalised values, HF defaults
// fill missing keys, bad configs are rejected naming file and field, and write-back round-trips.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HfConfigError, expandAttentionTypes, parseHfConfig, readHfConfig, readHfConfigFile, toHfConfigJson, writeHfConfig,
  type GptNeoConfig, type HfConfig,
} from '../../models/hf-config.js';

const GOLDEN = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
let tmp = '';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-config-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const COMMON_TINY = {
  vocabSize: 512, nPositions: 64, nEmbd: 32, nLayer: 2, nHead: 4, layerNormEpsilon: 1e-5,
  activation: 'gelu_new', residDropout: 0, embdDropout: 0, attnDropout: 0, initializerRange: 0.02,
  bosTokenId: 0, eosTokenId: 0, padTokenId: null,
};

describe('golden fixture configs', () => {
  it('tiny-gpt2', () => {
    expect(readHfConfig(path.join(GOLDEN, 'tiny-gpt2'))).toEqual({
      ...COMMON_TINY, modelType: 'gpt2', tieWordEmbeddings: true, nInner: 128,
      scaleAttnWeights: true, scaleAttnByInverseLayerIdx: false, reorderAndUpcastAttn: false,
    });
  });

  it('tiny-gpt-neo', () => {
    expect(readHfConfig(path.join(GOLDEN, 'tiny-gpt-neo'))).toEqual({
      ...COMMON_TINY, modelType: 'gpt_neo', tieWordEmbeddings: true,
      attentionLayers: ['global', 'local'], windowSize: 8, intermediateSize: 128,
    });
  });

  it('tiny-gptj', () => {
    expect(readHfConfig(path.join(GOLDEN, 'tiny-gptj'))).toEqual({
      ...COMMON_TINY, modelType: 'gptj', tieWordEmbeddings: false, rotaryDim: 4, nInner: 128,
    });
  });

  it('a config file path works too (weight_model_config.json)', () => {
    const { config, raw, file } = readHfConfigFile(path.join(GOLDEN, 'tiny-gpt2', 'weight_model_config.json'));
    expect(file).toContain('weight_model_config.json');
    expect(config.modelType).toBe('gpt2');
    expect(config.nEmbd).toBe(32);
    expect(raw['summary_type']).toBe('cls_index');
  });
});

describe('defaults of the transformers config classes', () => {
  it('gpt2', () => {
    expect(parseHfConfig({ model_type: 'gpt2' })).toEqual({
      modelType: 'gpt2', vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12,
      layerNormEpsilon: 1e-5, activation: 'gelu_new', residDropout: 0.1, embdDropout: 0.1, attnDropout: 0.1,
      initializerRange: 0.02, bosTokenId: 50256, eosTokenId: 50256, padTokenId: null, tieWordEmbeddings: true,
      nInner: 3072, scaleAttnWeights: true, scaleAttnByInverseLayerIdx: false, reorderAndUpcastAttn: false,
    });
  });

  it('gpt_neo', () => {
    const c = parseHfConfig({ model_type: 'gpt_neo' }) as GptNeoConfig;
    expect(c).toMatchObject({
      vocabSize: 50257, nPositions: 2048, nEmbd: 2048, nLayer: 24, nHead: 16, windowSize: 256,
      intermediateSize: 8192, residDropout: 0, embdDropout: 0, attnDropout: 0, tieWordEmbeddings: true,
    });
    expect(c.attentionLayers).toHaveLength(24);
    expect(c.attentionLayers.slice(0, 4)).toEqual(['global', 'local', 'global', 'local']);
  });

  it('gptj', () => {
    expect(parseHfConfig({ model_type: 'gptj' })).toMatchObject({
      vocabSize: 50400, nPositions: 2048, nEmbd: 4096, nLayer: 28, nHead: 16, rotaryDim: 64, nInner: 16384,
      residDropout: 0, tieWordEmbeddings: false, bosTokenId: 50256, eosTokenId: 50256,
    });
  });

  it('gptj rotary_dim null means the whole head; token id lists take the first', () => {
    const c = parseHfConfig({ model_type: 'gptj', n_embd: 32, n_head: 4, rotary_dim: null, eos_token_id: [7, 8] });
    expect(c).toMatchObject({ rotaryDim: 8, eosTokenId: 7 });
  });

  it('accepts the attribute_map aliases', () => {
    expect(parseHfConfig({ model_type: 'gpt2', hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 8, max_position_embeddings: 16 }))
      .toMatchObject({ nEmbd: 64, nLayer: 3, nHead: 8, nPositions: 16, nInner: 256 });
  });

  it('expands attention_types', () => {
    expect(expandAttentionTypes([[['global', 'local'], 2], [['local'], 1]]))
      .toEqual(['global', 'local', 'global', 'local', 'local']);
    expect(expandAttentionTypes([])).toEqual([]);
  });
});

describe('bad configs are rejected naming file and field', () => {
  const cases: [string, unknown, string | undefined, RegExp][] = [
    ['not an object', [1, 2], undefined, /must be a JSON object/],
    ['missing model_type', { n_layer: 2 }, 'model_type', /missing/],
    ['unknown model_type', { model_type: 'llama' }, 'model_type', /unsupported model_type "llama"/],
    ['string layer count', { model_type: 'gpt2', n_layer: '2' }, 'n_layer', /integer/],
    ['zero heads', { model_type: 'gpt2', n_head: 0 }, 'n_head', /integer >= 1/],
    ['fractional vocab', { model_type: 'gpt2', vocab_size: 10.5 }, 'vocab_size', /integer/],
    ['null required size', { model_type: 'gptj', n_embd: null }, 'n_embd', /integer/],
    ['heads do not divide', { model_type: 'gpt2', n_embd: 30, n_head: 4 }, 'n_embd', /not divisible/],
    ['unknown activation', { model_type: 'gpt2', activation_function: 'swiglu9' }, 'activation_function', /unknown activation/],
    ['negative epsilon', { model_type: 'gpt2', layer_norm_epsilon: -1 }, 'layer_norm_epsilon', /number in/],
    ['dropout above 1', { model_type: 'gpt_neo', resid_dropout: 1.5 }, 'resid_dropout', /number in/],
    ['string dropout', { model_type: 'gpt2', attn_pdrop: '0.1' }, 'attn_pdrop', /number in/],
    ['bool as string', { model_type: 'gpt2', scale_attn_weights: 'true' }, 'scale_attn_weights', /true or false/],
    ['tie flag as number', { model_type: 'gptj', tie_word_embeddings: 1 }, 'tie_word_embeddings', /true or false/],
    ['negative token id', { model_type: 'gpt2', eos_token_id: -1 }, 'eos_token_id', /non-negative/],
    ['bad n_inner', { model_type: 'gpt2', n_inner: 0 }, 'n_inner', /null or an integer/],
    ['attention_types too short', { model_type: 'gpt_neo', num_layers: 3, attention_types: [[['global', 'local'], 1]] }, 'attention_types', /expands to 2 layers but num_layers is 3/],
    ['attention kind unknown', { model_type: 'gpt_neo', num_layers: 2, attention_types: [[['global', 'sparse'], 1]] }, 'attention_types', /"sparse"/],
    ['attention_types malformed', { model_type: 'gpt_neo', attention_types: [['global', 1]] }, 'attention_types', /\[\[kinds/],
    ['attention_types repeat invalid', { model_type: 'gpt_neo', attention_types: [[['global'], -1]] }, 'attention_types', /repeat/],
    ['attention_layers disagree', { model_type: 'gpt_neo', num_layers: 2, attention_types: [[['global', 'local'], 1]], attention_layers: ['local', 'local'] }, 'attention_layers', /disagrees/],
    ['bad window', { model_type: 'gpt_neo', window_size: 0 }, 'window_size', /integer >= 1/],
    ['odd rotary_dim', { model_type: 'gptj', n_embd: 32, n_head: 4, rotary_dim: 3 }, 'rotary_dim', /even/],
    ['rotary_dim above head dim', { model_type: 'gptj', n_embd: 32, n_head: 4, rotary_dim: 16 }, 'rotary_dim', /head dimension 8/],
  ];
  for (const [name, raw, field, pattern] of cases) {
    it(name, () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify(raw));
      let caught: unknown = null;
      try {
        readHfConfig(dir);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(HfConfigError);
      const msg = (caught as Error).message;
      expect(msg).toContain(file);
      if (field !== undefined) expect(msg).toContain(`'${field}'`);
      expect(msg).toMatch(pattern);
    });
  }

  it('invalid JSON and missing files', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'json-'));
    const file = path.join(dir, 'config.json');
    expect(() => readHfConfig(dir)).toThrow(HfConfigError);
    expect(() => readHfConfig(dir)).toThrow(file);
    fs.writeFileSync(file, '{"model_type": "gpt2",');
    expect(() => readHfConfig(dir)).toThrow(/invalid JSON/);
    expect(() => readHfConfig(dir)).toThrow(file);
  });
});

describe('writeHfConfig', () => {
  it('round-trips each fixture without raw', () => {
    for (const name of ['tiny-gpt2', 'tiny-gpt-neo', 'tiny-gptj']) {
      const cfg = readHfConfig(path.join(GOLDEN, name));
      const dir = fs.mkdtempSync(path.join(tmp, `w-${name}-`));
      writeHfConfig(dir, cfg);
      expect(readHfConfig(dir)).toEqual(cfg);
      expect(fs.readdirSync(dir)).toEqual(['config.json']);
    }
  });

  it('preserves raw fields and only overrides what changed', () => {
    const { config, raw } = readHfConfigFile(path.join(GOLDEN, 'tiny-gpt2'));
    const dir = fs.mkdtempSync(path.join(tmp, 'raw-'));
    writeHfConfig(dir, config, raw);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))).toEqual(raw);

    const changed: HfConfig = { ...config, nLayer: 3, residDropout: 0.1 };
    writeHfConfig(dir, changed, raw);
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(out).toEqual({ ...raw, n_layer: 3, resid_pdrop: 0.1 });
    expect(out['n_inner']).toBeNull(); // still means 4 * n_embd
    expect(readHfConfig(dir)).toEqual(changed);
  });

  it('rewrites gpt_neo attention_types and attention_layers together', () => {
    const { config, raw } = readHfConfigFile(path.join(GOLDEN, 'tiny-gpt-neo'));
    const neo = config as GptNeoConfig;
    const changed: GptNeoConfig = { ...neo, nLayer: 4, attentionLayers: ['local', 'local', 'global', 'local'] };
    const json = toHfConfigJson(changed, raw);
    expect(json['attention_layers']).toEqual(['local', 'local', 'global', 'local']);
    expect(expandAttentionTypes(json['attention_types'])).toEqual(['local', 'local', 'global', 'local']);
    expect(json['num_layers']).toBe(4);
    const six: GptNeoConfig = { ...neo, nLayer: 6, attentionLayers: ['global', 'local', 'global', 'local', 'global', 'local'] };
    expect(toHfConfigJson(six)['attention_types']).toEqual([[['global', 'local'], 3]]);
  });
});
