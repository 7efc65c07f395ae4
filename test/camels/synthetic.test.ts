// The built-in synthetic dataset: deterministic from the seed, disjoint splits, answers that are spans of
// their documents, short documents, and the corpus helper.
import { describe, expect, it } from 'vitest';
import {
  generateSyntheticDataset,
  syntheticCorpus,
  syntheticQaExamples,
  syntheticWordCount,
  type SyntheticDataset,
  type SyntheticDocument,
} from '../../camels/data/synthetic.js';

const small = { seed: 5, qaPretrain: 40, metaTrain: 60, validation: 15, test: 15 };
const splits = (ds: SyntheticDataset): SyntheticDocument[][] => [ds.qaPretrain, ds.metaTrain, ds.validation, ds.test];

describe('synthetic dataset', () => {
  const ds = generateSyntheticDataset(small);

  it('is deterministic in the seed', () => {
    expect(generateSyntheticDataset(small)).toEqual(ds);
    const other = generateSyntheticDataset({ ...small, seed: 6 });
    expect(other.test.map((d) => d.text)).not.toEqual(ds.test.map((d) => d.text));
  });

  it('honours the counts and keeps the test split stable when training counts change', () => {
    expect(splits(ds).map((s) => s.length)).toEqual([40, 60, 15, 15]);
    const bigger = generateSyntheticDataset({ ...small, qaPretrain: 80, metaTrain: 10 });
    expect(bigger.test).toEqual(ds.test);
    expect(bigger.validation).toEqual(ds.validation);
    expect(generateSyntheticDataset({ seed: 1, qaPretrain: 0, metaTrain: 0, validation: 0, test: 3 }).test).toHaveLength(3);
    expect(() => generateSyntheticDataset({ test: -1 })).toThrow(/non-negative integer/);
  });

  it('shares no entity and no document between splits or documents', () => {
    const seen = new Map<string, string>();
    for (const split of splits(ds)) {
      for (const d of split) {
        for (const e of d.entities) {
          expect(seen.has(e), `${e} in ${d.id} and ${seen.get(e)}`).toBe(false);
          seen.set(e, d.id);
        }
      }
    }
    const texts = splits(ds).flat().map((d) => d.text);
    expect(new Set(texts).size).toBe(texts.length);
    // Family names and organisation words are unique too, so no surname or name word links two documents.
    const people = splits(ds).flat().flatMap((d) => d.entities.filter((e) => /^\S+ \S+$/.test(e)));
    const firstWordsOfOrgs = people.filter((e) => /(Society|Institute|Guild|Company|Foundation|Academy|Observatory|Trust|Collective|Works|Press|Library|Orchestra|Museum|Laboratory)$/.test(e)).map((e) => e.split(' ')[0]!);
    const familyNames = people.filter((e) => !/(Society|Institute|Guild|Company|Foundation|Academy|Observatory|Trust|Collective|Works|Press|Library|Orchestra|Museum|Laboratory)$/.test(e)).map((e) => e.split(' ')[1]!);
    expect(new Set(firstWordsOfOrgs).size).toBe(firstWordsOfOrgs.length);
    expect(new Set(familyNames).size).toBe(familyNames.length);
  });

  it('asks several questions per document whose answers are spans of it', () => {
    for (const d of splits(ds).flat()) {
      expect(d.questions.length).toBeGreaterThanOrEqual(5);
      for (const q of d.questions) {
        expect(d.text.includes(q.answer), `${q.answer} not in ${d.id}`).toBe(true);
        // exactly one occurrence, case-insensitively, so the answer span is unambiguous
        expect(d.text.toLowerCase().split(q.answer.toLowerCase()).length - 1).toBe(1);
        expect(q.question.endsWith('?')).toBe(true);
        expect(q.question.includes(q.answer)).toBe(false);
      }
      const questions = d.questions.map((q) => q.question);
      expect(new Set(questions).size).toBe(questions.length);
    }
    const kinds = new Set(ds.test.map((d) => d.kind));
    expect(kinds).toEqual(new Set(['organisation', 'person', 'town']));
    const years = ds.test.flatMap((d) => d.questions.filter((q) => q.question.startsWith('In what year')).map((q) => q.answer));
    expect(years.every((y) => /^1[7-9]\d\d$/.test(y))).toBe(true);
  });

  it('keeps documents short and includes distractor sentences', () => {
    for (const d of splits(ds).flat()) {
      const n = syntheticWordCount(d);
      expect(n).toBeGreaterThanOrEqual(40);
      expect(n).toBeLessThanOrEqual(90);
      const sentences = d.text.split(/(?<=\.)\s+/);
      const asked = sentences.filter((s) => d.questions.some((q) => s.includes(q.answer)));
      expect(sentences.length - asked.length).toBeGreaterThanOrEqual(3); // sentences no question is about
    }
    const none = generateSyntheticDataset({ ...small, distractors: 0 });
    expect(none.test[0]!.text.split(/(?<=\.)\s+/).length).toBeLessThan(ds.test[0]!.text.split(/(?<=\.)\s+/).length);
  });

  it('caps questions per document on request', () => {
    const capped = generateSyntheticDataset({ ...small, questionsPerDocument: 2 });
    for (const d of splits(capped).flat()) expect(d.questions).toHaveLength(2);
  });

  it('flattens to QA examples and builds the corpus', () => {
    const examples = syntheticQaExamples(ds.test);
    expect(examples).toHaveLength(ds.test.reduce((n, d) => n + d.questions.length, 0));
    expect(examples[0]).toEqual({ document: ds.test[0]!.text, question: ds.test[0]!.questions[0]!.question, answer: ds.test[0]!.questions[0]!.answer, documentId: 'test-0' });
    const docsOnly = syntheticCorpus(ds, { includeQuestions: false });
    expect(docsOnly).toHaveLength(130);
    expect(docsOnly[0]).toBe(ds.qaPretrain[0]!.text);
    const all = syntheticCorpus(ds);
    expect(all.length).toBe(130 + 2 * splits(ds).flat().reduce((n, d) => n + d.questions.length, 0));
  });
});

describe('synthetic cloze prompts', () => {
  it('each cloze prompt followed by the answer is a sentence prefix of its document', () => {
    const ds = generateSyntheticDataset({ seed: 5, qaPretrain: 9, metaTrain: 0, validation: 0, test: 0 });
    for (const d of ds.qaPretrain) {
      for (const q of d.questions) {
        expect(d.text).toContain(`${q.cloze} ${q.answer}`);
        const at = d.text.indexOf(q.cloze);
        expect(at === 0 || d.text[at - 2] === '.').toBe(true);
      }
    }
    const ex = syntheticQaExamples(ds.qaPretrain, { cloze: true });
    expect(ex[0]!.question).toBe(ds.qaPretrain[0]!.questions[0]!.cloze);
  });
});

describe('synthetic distractor facts', () => {
  const ds = generateSyntheticDataset({ seed: 2, qaPretrain: 30, metaTrain: 30, validation: 10, test: 12, distractors: 3 });
  const all = splits(ds).flat();

  it('records answer spans and distractor-value spans that are where they say, and never overlap', () => {
    for (const d of all) {
      for (const q of d.questions) expect(d.text.slice(q.span.start, q.span.end)).toBe(q.answer);
      expect(d.distractorSpans).toHaveLength(6); // every template has two values
      for (const sp of d.distractorSpans) {
        const v = d.text.slice(sp.start, sp.end);
        expect(v).toMatch(/^([A-Z][a-z]+( [A-Z][a-z]+)?|1[7-9]\d\d)$/);
        for (const q of d.questions) expect(sp.end <= q.span.start || q.span.end <= sp.start).toBe(true);
        // a distractor value is never the answer to a question about its document
        expect(d.questions.some((q) => q.answer.toLowerCase() === v.toLowerCase())).toBe(false);
      }
    }
  });

  it('uses fresh names in every document: no test sentence occurs in any training split', () => {
    const sentencesOf = (docs: SyntheticDocument[]) => new Set(docs.flatMap((d) => d.text.split(/(?<=\.)\s+/)));
    const train = sentencesOf([...ds.qaPretrain, ...ds.metaTrain, ...ds.validation]);
    const test = [...sentencesOf(ds.test)];
    expect(test.length).toBeGreaterThan(ds.test.length * 6);
    for (const s of test) expect(train.has(s), s).toBe(false);
    // distractor people and places are entities of their document and unique across the dataset
    const names = all.flatMap((d) => d.distractorSpans.map((sp) => d.text.slice(sp.start, sp.end)).filter((v) => !/^\d+$/.test(v)));
    for (const d of all) for (const sp of d.distractorSpans) { const v = d.text.slice(sp.start, sp.end); if (!/^\d+$/.test(v)) expect(d.entities).toContain(v); }
    const places = names.filter((n) => !n.includes(' '));
    expect(new Set(places).size).toBe(places.length);
  });

  it('uses a different relation type for each distractor of a document, none of them asked about', () => {
    for (const d of all) {
      const sentences = d.text.split(/(?<=\.)\s+/);
      const withValues = sentences.filter((s) => d.distractorSpans.some((sp) => s.includes(d.text.slice(sp.start, sp.end))));
      expect(withValues).toHaveLength(3);
      const skeletons = withValues.map((s) => s.replace(/[A-Z][a-z]+( [A-Z][a-z]+)?|\d{4}/g, '_'));
      expect(new Set(skeletons).size).toBe(3);
      for (const q of d.questions) expect(withValues.some((s) => s.includes(q.cloze))).toBe(false);
    }
  });
});
