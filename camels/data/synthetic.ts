// A built-in synthetic QA dataset for the embedded default experiment: short documents stating
// invented facts (people, organisations, towns, rivers, years) with questions whose answers are spans
// of their documents, plus distractor facts that no question asks about: sentences of other relation
// types ("In 1812 the roof was repaired by Kelan Dovbeck.") with fresh invented people, places and
// years. Entity- and rarity-based heuristics (SSM, TF-IDF) cannot tell those values from answers; a
// weighting that learned which relations questions ask about can. Only some tokens matter, which is
// what learned token weighting can exploit.
//
// Names are built from syllable tables, so no pretrained model knows the facts. Every generated family
// and place name is used at most once in the whole dataset, so no entity (and hence no fact, and no
// sentence) is shared between documents or splits. The generator records where each answer and each
// distractor value stands (character spans), for selectivity metrics. Generation is deterministic in
// the seed. Each split draws from its own PRNG stream and the splits are generated in the order test,
// validation, metaTrain, qaPretrain, so the test split depends only on (seed, test count) and does not
// change when the training counts change.

import { Prng } from './rng.js';
import type { QaExample } from './types.js';

export type SyntheticSplit = 'qaPretrain' | 'metaTrain' | 'validation' | 'test';
export type SyntheticKind = 'organisation' | 'person' | 'town';

export interface SyntheticQuestion {
  question: string;
  /** A substring of the document. */
  answer: string;
  /**
   * The same question as a cloze prompt: the exact words of the document sentence that precede the
   * answer (a small model can complete it from what it memorised while adapting on the document).
   */
  cloze: string;
  /** Where the answer stands in the document (its only occurrence, case-insensitively). */
  span: CharSpan;
}

/** Half-open character span [start, end) in a document's text. */
export interface CharSpan {
  start: number;
  end: number;
}

export interface SyntheticDocument {
  id: string;
  split: SyntheticSplit;
  kind: SyntheticKind;
  text: string;
  questions: SyntheticQuestion[];
  /**
   * The invented values (people, places, years) of the distractor sentences: facts of relation types that
   * no question asks about, so these look like answers to an entity or rarity heuristic but never are.
   */
  distractorSpans: CharSpan[];
  /** The invented names this document uses (people, organisations, places, items; distractors' too). */
  entities: string[];
}

export interface SyntheticDataset {
  seed: number;
  qaPretrain: SyntheticDocument[];
  metaTrain: SyntheticDocument[];
  validation: SyntheticDocument[];
  test: SyntheticDocument[];
}

export interface SyntheticOptions {
  seed?: number;
  /** Documents per split. */
  qaPretrain?: number;
  metaTrain?: number;
  validation?: number;
  test?: number;
  /** Keep at most this many questions per document (a random subset, in document order); default all (5-6). */
  questionsPerDocument?: number;
  /** Distractor sentences per document (default 3). */
  distractors?: number;
}

export const SYNTHETIC_DEFAULTS = {
  seed: 0,
  qaPretrain: 300,
  metaTrain: 500,
  validation: 50,
  test: 50,
  distractors: 3,
} as const;

// ------------------------------------------------------------------------------------ syllable tables

const GIVEN_START = ['Kor', 'Sel', 'Bra', 'Ta', 'Vel', 'Mor', 'Ril', 'Da', 'Fen', 'Quo', 'Ys', 'Ara', 'Ber', 'Cal', 'Dro',
  'Eli', 'Gav', 'Hal', 'Ira', 'Jor', 'Kel', 'Lor', 'Mal', 'Nev', 'Orl', 'Pel', 'Ren', 'Sar', 'Tov', 'Ulm', 'Var', 'Wen',
  'Zor', 'Tam', 'Bel', 'Cor', 'Dav', 'Fal', 'Gor', 'Hes', 'Lin', 'Mav', 'Nor', 'Pav', 'Ros', 'Sev', 'Tir', 'Vos'];
const GIVEN_END = ['van', 'na', 'ric', 'ia', 'en', 'wyn', 'ora', 'ius', 'eth', 'an', 'is', 'ela', 'od', 'ara', 'in', 'ek',
  'ith', 'us', 'ane', 'orn'];
const FAMILY_START = ['Tel', 'Dur', 'Ost', 'Mar', 'Kes', 'Vol', 'Bran', 'Quel', 'Hal', 'Fen', 'Gris', 'Lom', 'Nar', 'Pell',
  'Rav', 'Sorn', 'Tav', 'Vesk', 'Wyr', 'Zan', 'Ald', 'Bex', 'Cran', 'Dov', 'Erl', 'Fos', 'Gal', 'Harr', 'Ivr', 'Jass'];
const FAMILY_MID = ['i', 'a', 'o', 'e', 'u', 'ar', 'en', 'or', 'il', '', 'ad', 'el', 'im', 'on', 'us'];
const FAMILY_END = ['sse', 'nak', 'rin', 'dell', 'mont', 'vik', 'sar', 'ton', 'wick', 'ley', 'bury', 'holt', 'mar', 'gard',
  'ric', 'win', 'dane', 'ford', 'quist', 'lowe', 'beck', 'crane', 'moss', 'vane', 'tarn'];
const PLACE_START = ['Vash', 'Quen', 'Bre', 'Mor', 'Ost', 'Tal', 'Zer', 'Kal', 'Dun', 'Fen', 'Gil', 'Hov', 'Ith', 'Jor', 'Lur',
  'Nim', 'Pra', 'Rov', 'Sil', 'Thal', 'Ulv', 'Wes', 'Yar', 'Ell', 'Cor', 'Drav', 'Esk', 'Frey', 'Grem', 'Hask'];
const PLACE_MID = ['', 'a', 'e', 'i', 'o', 'en', 'ar', 'il', 'ba', 'de', 'ri', 'lo', 'ma', 'ne', 'su', 'ta', 'vi', 'ko', 'on',
  'es', 'ul', 'am', 'ed', 'or', 'ir'];
const PLACE_END = ['tor', 'mar', 'll', 'vik', 'heim', 'dor', 'wick', 'mere', 'holt', 'burg', 'ra', 'lin', 'stead', 'moor',
  'gate', 'haven', 'fell', 'ia', 'os', 'and', 'rith', 'ven', 'dale', 'ford', 'ash'];
const ORG_START = ['Amber', 'Silver', 'Iron', 'Glass', 'Copper', 'Raven', 'Thistle', 'Harrow', 'Lumen', 'Cobalt', 'Ember',
  'Frost', 'Willow', 'Marble', 'Saffron', 'Indigo', 'Ivory', 'Onyx', 'Sable', 'Tansy', 'Quill', 'Gable', 'Larch', 'Fable',
  'Cinder', 'Hazel', 'Myrtle', 'Pewter', 'Russet', 'Umber'];
const ORG_MID = ['', 'a', 'i', 'o', 'en', 'ar', 'el'];
const ORG_END = ['lune', 'crest', 'vale', 'reach', 'mark', 'spire', 'wood', 'field', 'brook', 'ridge', 'fall', 'gleam',
  'shade', 'hollow', 'thorn', 'wyn', 'mont', 'dell', 'gard', 'helm'];
const ORG_TYPE = ['Society', 'Institute', 'Guild', 'Company', 'Foundation', 'Academy', 'Observatory', 'Trust', 'Collective',
  'Works', 'Press', 'Library', 'Orchestra', 'Museum', 'Laboratory'];
const ITEMS = ['telescope', 'ship', 'engine', 'bridge', 'clock', 'lighthouse', 'loom', 'printing press', 'organ', 'balloon'];
const FIELDS = ['astronomy', 'botany', 'chemistry', 'geology', 'music', 'medicine', 'mathematics', 'architecture',
  'linguistics', 'navigation', 'painting', 'law'];
const EXPORTS = ['copper', 'wool', 'salt', 'timber', 'glass', 'amber', 'tea', 'silk', 'paper', 'honey', 'cheese', 'rope'];

/** One piece of a distractor sentence: fixed words, or an invented value (a person, place or year). */
type Piece = string | { value: string };

/**
 * Distractor facts: relation types that no question ever asks about, filled with fresh invented people,
 * places and years in every document. To an entity tagger (SSM) or a rarity score (TF-IDF) their values
 * look exactly like answers; only the relation words tell them apart.
 */
const DISTRACTOR_TEMPLATES: ((p: () => string, pl: () => string, y: () => string) => Piece[])[] = [
  (p, _pl, y) => ['In ', { value: y() }, ' the roof was repaired by ', { value: p() }, '.'],
  (p, pl, _y) => ['A portrait of ', { value: p() }, ' was painted in ', { value: pl() }, '.'],
  (_p, pl, y) => ['In ', { value: y() }, ' a storm flooded the road to ', { value: pl() }, '.'],
  (p, _pl, y) => [{ value: p() }, ' wrote a short history of it in ', { value: y() }, '.'],
  (p, pl, _y) => ['The old bell was cast in ', { value: pl() }, ' by ', { value: p() }, '.'],
  (p, _pl, y) => ['A fire in ', { value: y() }, ' destroyed the letters kept by ', { value: p() }, '.'],
  (p, pl, _y) => [{ value: p() }, ' once sketched the harbour at ', { value: pl() }, '.'],
  (p, pl, _y) => ['A statue of ', { value: p() }, ' stands in the square of ', { value: pl() }, '.'],
  (_p, pl, y) => ['The bridge at ', { value: pl() }, ' was rebuilt in ', { value: y() }, '.'],
  (p, pl, _y) => ['The garden was planted by ', { value: p() }, ' of ', { value: pl() }, '.'],
];

// ---------------------------------------------------------------------------------------------- names

/** Syllable joins that read badly: doubled vowels, three vowels or three equal letters in a row. */
const AWKWARD = /aa|ii|uu|yy|ee|[aeiouy]{3}|([a-z])\1\1|[^aeiouy]ll/i;

/**
 * Capacity: about 11,000 family names, 18,000 place names and 4,000 organisation words, i.e. roughly 4,000
 * documents in all (each uses about 2 people, 2-3 place-like names and 0-1 organisations).
 */
class NameSource {
  private readonly used = new Set<string>();

  /** Draw from `make` until an unused, readable name appears; throw if the name space looks exhausted. */
  unique(rng: Prng, what: string, make: () => string): string {
    for (let tries = 0; tries < 5000; tries++) {
      const name = make();
      if (!this.used.has(name) && !AWKWARD.test(name)) {
        this.used.add(name);
        return name;
      }
    }
    throw new Error(`synthetic dataset: ran out of unused ${what} names; ask for fewer documents`);
  }

  /** A full name "Given Family" whose family name is also unused. */
  person(rng: Prng): string {
    const family = this.unique(rng, 'family', () => rng.pick(FAMILY_START) + rng.pick(FAMILY_MID) + rng.pick(FAMILY_END));
    let given = rng.pick(GIVEN_START) + rng.pick(GIVEN_END);
    while (AWKWARD.test(given)) given = rng.pick(GIVEN_START) + rng.pick(GIVEN_END);
    return `${given} ${family}`;
  }

  place(rng: Prng): string {
    return this.unique(rng, 'place', () => rng.pick(PLACE_START) + rng.pick(PLACE_MID) + rng.pick(PLACE_END));
  }

  /** "Amberlune Society": the first word is itself unused. */
  organisation(rng: Prng): string {
    const word = this.unique(rng, 'organisation', () => rng.pick(ORG_START) + rng.pick(ORG_MID) + rng.pick(ORG_END));
    return `${word} ${rng.pick(ORG_TYPE)}`;
  }
}

// ------------------------------------------------------------------------------------------ documents

interface Draft {
  kind: SyntheticKind;
  facts: string[];
  questions: Omit<SyntheticQuestion, 'span'>[];
  entities: string[];
}

function organisationDraft(rng: Prng, names: NameSource, year: number): Draft {
  const org = names.organisation(rng);
  const founder = names.person(rng);
  const director = names.person(rng);
  const city = names.place(rng);
  const item = rng.pick(ITEMS);
  const itemName = names.place(rng);
  return {
    kind: 'organisation',
    facts: [
      `The ${org} was founded in ${city} in ${year} by ${founder}.`,
      `The ${org} is best known for a ${item} called the ${itemName}.`,
      `The first director of the ${org} was ${director}.`,
    ],
    questions: [
      { question: `Who founded the ${org}?`, answer: founder, cloze: `The ${org} was founded in ${city} in ${year} by` },
      { question: `In what year was the ${org} founded?`, answer: String(year), cloze: `The ${org} was founded in ${city} in` },
      { question: `In which city was the ${org} founded?`, answer: city, cloze: `The ${org} was founded in` },
      { question: `What is the ${item} of the ${org} called?`, answer: itemName, cloze: `The ${org} is best known for a ${item} called the` },
      { question: `Who was the first director of the ${org}?`, answer: director, cloze: `The first director of the ${org} was` },
    ],
    entities: [org, founder, director, city, itemName],
  };
}

function personDraft(rng: Prng, names: NameSource, year: number): Draft {
  const person = names.person(rng);
  const spouse = names.person(rng);
  const city = names.place(rng);
  const org = names.organisation(rng);
  const field = rng.pick(FIELDS);
  const item = rng.pick(ITEMS);
  const itemName = names.place(rng);
  const marriage = year + 20 + rng.nextInt(15);
  return {
    kind: 'person',
    facts: [
      `${person} was born in ${city} in ${year}.`,
      `${person} studied ${field} at the ${org}.`,
      `In ${marriage}, ${person} married ${spouse}.`,
      `${person} is remembered for designing a ${item} named the ${itemName}.`,
    ],
    questions: [
      { question: `Where was ${person} born?`, answer: city, cloze: `${person} was born in` },
      { question: `In what year was ${person} born?`, answer: String(year), cloze: `${person} was born in ${city} in` },
      { question: `What did ${person} study?`, answer: field, cloze: `${person} studied` },
      { question: `At which institution did ${person} study?`, answer: org, cloze: `${person} studied ${field} at the` },
      { question: `Whom did ${person} marry?`, answer: spouse, cloze: `In ${marriage}, ${person} married` },
      { question: `What was the name of the ${item} designed by ${person}?`, answer: itemName, cloze: `${person} is remembered for designing a ${item} named the` },
    ],
    entities: [person, spouse, city, org, itemName],
  };
}

function townDraft(rng: Prng, names: NameSource, year: number): Draft {
  const town = names.place(rng);
  const river = names.place(rng);
  const region = names.place(rng);
  const founder = names.person(rng);
  const leader = names.person(rng);
  const good = rng.pick(EXPORTS);
  return {
    kind: 'town',
    facts: [
      `${town} is a small town on the ${river} River in the province of ${region}.`,
      `${town} was established in ${year} by ${founder}.`,
      `The main export of ${town} is ${good}.`,
      `The town council of ${town} is led by ${leader}.`,
    ],
    questions: [
      { question: `On which river does ${town} lie?`, answer: river, cloze: `${town} is a small town on the` },
      { question: `In which province is ${town}?`, answer: region, cloze: `${town} is a small town on the ${river} River in the province of` },
      { question: `Who established ${town}?`, answer: founder, cloze: `${town} was established in ${year} by` },
      { question: `In what year was ${town} established?`, answer: String(year), cloze: `${town} was established in` },
      { question: `What is the main export of ${town}?`, answer: good, cloze: `The main export of ${town} is` },
      { question: `Who leads the town council of ${town}?`, answer: leader, cloze: `The town council of ${town} is led by` },
    ],
    entities: [town, river, region, founder, leader],
  };
}

const DRAFTERS = [organisationDraft, personDraft, townDraft];

const wordCount = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length;

const occurrences = (haystack: string, needle: string): number => haystack.split(needle).length - 1;

function makeDocument(rng: Prng, names: NameSource, split: SyntheticSplit, index: number, options: SyntheticOptions): SyntheticDocument {
  // Redraw the (rare) document in which an answer also occurs inside another word ("tea" in "Ulvristead"),
  // so that every answer is exactly one span of its document, case-insensitively.
  for (let attempt = 0; attempt < 50; attempt++) {
    const doc = draftDocument(rng, names, split, index, options);
    const lower = doc.text.toLowerCase();
    if (doc.questions.every((q) => occurrences(lower, q.answer.toLowerCase()) === 1)) return doc;
  }
  throw new Error(`synthetic dataset: could not make document ${split}-${index} with unambiguous answers`);
}

/** Assemble pieces into a sentence and the spans of its values (offsets within the sentence). */
function assemble(pieces: Piece[]): { text: string; values: CharSpan[] } {
  let text = '';
  const values: CharSpan[] = [];
  for (const piece of pieces) {
    if (typeof piece === 'string') text += piece;
    else {
      values.push({ start: text.length, end: text.length + piece.value.length });
      text += piece.value;
    }
  }
  return { text, values };
}

function draftDocument(rng: Prng, names: NameSource, split: SyntheticSplit, index: number, options: SyntheticOptions): SyntheticDocument {
  const draft = DRAFTERS[index % DRAFTERS.length]!(rng, names, 1700 + rng.nextInt(280));
  // Distractor facts go after the first fact sentence (which introduces the subject), at random gaps,
  // each of a different relation type, with values no other document uses.
  const nDistractors = Math.max(0, Math.min(options.distractors ?? SYNTHETIC_DEFAULTS.distractors, DISTRACTOR_TEMPLATES.length));
  const person = () => names.person(rng);
  const place = () => names.place(rng);
  const year = () => String(1700 + rng.nextInt(300));
  const distractors = rng.sampleIndices(DISTRACTOR_TEMPLATES.length, nDistractors).map((i) => assemble(DISTRACTOR_TEMPLATES[i]!(person, place, year)));
  const sentences: { text: string; values: CharSpan[] }[] = draft.facts.map((f) => ({ text: f, values: [] }));
  for (const d of distractors) sentences.splice(1 + rng.nextInt(sentences.length), 0, d);
  let text = '';
  const distractorSpans: CharSpan[] = [];
  for (const sentence of sentences) {
    if (text) text += ' ';
    for (const v of sentence.values) distractorSpans.push({ start: text.length + v.start, end: text.length + v.end });
    text += sentence.text;
  }
  let questions = draft.questions;
  const cap = options.questionsPerDocument;
  if (cap !== undefined && cap < questions.length) {
    const keep = new Set(rng.sampleIndices(questions.length, Math.max(0, cap)));
    questions = questions.filter((_, i) => keep.has(i));
  }
  const distractorValues = distractorSpans.map((sp) => text.slice(sp.start, sp.end));
  return {
    id: `${split}-${index}`,
    split,
    kind: draft.kind,
    text,
    questions: questions.map((q) => ({ ...q, span: { start: text.indexOf(q.answer), end: text.indexOf(q.answer) + q.answer.length } })),
    distractorSpans,
    entities: [...draft.entities, ...distractorValues.filter((v) => !/^\d+$/.test(v))],
  };
}

/** Generate the synthetic dataset. Same options, same dataset. */
export function generateSyntheticDataset(options: SyntheticOptions = {}): SyntheticDataset {
  const seed = options.seed ?? SYNTHETIC_DEFAULTS.seed;
  const counts: Record<SyntheticSplit, number> = {
    qaPretrain: options.qaPretrain ?? SYNTHETIC_DEFAULTS.qaPretrain,
    metaTrain: options.metaTrain ?? SYNTHETIC_DEFAULTS.metaTrain,
    validation: options.validation ?? SYNTHETIC_DEFAULTS.validation,
    test: options.test ?? SYNTHETIC_DEFAULTS.test,
  };
  for (const [split, n] of Object.entries(counts)) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`synthetic dataset: ${split} count must be a non-negative integer, got ${n}`);
  }
  const root = new Prng(seed);
  const order: SyntheticSplit[] = ['test', 'validation', 'metaTrain', 'qaPretrain'];
  const splitSeeds = order.map(() => root.nextU32());
  const names = new NameSource();
  const out: Partial<Record<SyntheticSplit, SyntheticDocument[]>> = {};
  order.forEach((split, s) => {
    const rng = new Prng(splitSeeds[s]!);
    out[split] = Array.from({ length: counts[split] }, (_, i) => makeDocument(rng, names, split, i, options));
  });
  return { seed, qaPretrain: out.qaPretrain!, metaTrain: out.metaTrain!, validation: out.validation!, test: out.test! };
}

/** One (document, question, answer) example per question, in document order; `cloze` uses the cloze prompts. */
export function syntheticQaExamples(documents: readonly SyntheticDocument[], options: { cloze?: boolean } = {}): (QaExample & { documentId: string })[] {
  return documents.flatMap((d) =>
    d.questions.map((q) => ({ document: d.text, question: options.cloze ? q.cloze : q.question, answer: q.answer, documentId: d.id })),
  );
}

/**
 * All texts of the dataset, split by split (qaPretrain, metaTrain, validation, test): the documents and,
 * with `includeQuestions` (default true), every question and answer. Use the full corpus to train a
 * tokenizer; use `includeQuestions: false` (documents only) to fit TF-IDF as the reference does.
 */
export function syntheticCorpus(dataset: SyntheticDataset, options: { includeQuestions?: boolean } = {}): string[] {
  const includeQuestions = options.includeQuestions ?? true;
  const texts: string[] = [];
  for (const split of ['qaPretrain', 'metaTrain', 'validation', 'test'] as const) {
    for (const d of dataset[split]) {
      texts.push(d.text);
      if (includeQuestions) for (const q of d.questions) texts.push(q.question, q.answer);
    }
  }
  return texts;
}

/** Word count of a synthetic document (whitespace-separated). */
export function syntheticWordCount(doc: SyntheticDocument): number {
  return wordCount(doc.text);
}
