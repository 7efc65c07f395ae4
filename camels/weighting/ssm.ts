// Salient span masking (SSM) baseline weights (spec §1.4): weight 1 on tokens that overlap a named
// entity or a date, 0 elsewhere and on pads.
//
// DEVIATION from the reference: it runs spaCy `en_core_web_sm` NER and keeps every OntoNotes label except
// TIME, PERCENT, MONEY, QUANTITY, ORDINAL and CARDINAL. spaCy is not available in JS; we use compromise
// (+ compromise-dates) part-of-speech tags instead, so the spans differ from spaCy's in places:
// - salient ("entity"): terms tagged Person, Place, Organization, ProperNoun or Demonym (≈ PERSON, GPE,
//   LOC, FAC, ORG, NORP, PRODUCT, EVENT, WORK_OF_ART, LAW, LANGUAGE, which are all proper names) that
//   contain a capital letter or digit (so "city" in "the city of X" is not one), plus
//   - a capitalised noun, adjective or Roman numeral directly next to such a term (sentence-initial first
//     names that compromise does not know, e.g. "Korvan" in "Korvan Telisse founded ..."),
//   - a capitalised noun or adjective whose text is an entity term elsewhere in the same text, and
//   - a lower-case name connector ("of", "de", "van", ...) between two such terms ("Bank of Brell");
// - salient ("date"): runs of terms tagged Date, Month, WeekDay or Year (≈ DATE) that contain a year, a
//   day/week/month/year/decade/century word or a capitalised month/weekday (compromise-dates alone tags
//   "sat" in "the cat sat"), except the prepositions and conjunctions folded into a date phrase ("in",
//   "on"); plus decades ("1990s") and bare four-digit years 1000-2099 not followed by a noun;
// - ignored: Money, Percent, Currency, Time, honorifics, pronouns and plain numbers (CARDINAL,
//   ORDINAL, QUANTITY) unless compromise puts them in a date ("12 May 2003").
// Only a term's own characters are marked (not the punctuation around it; a trailing possessive "'s" is
// left out as spaCy tokenises it apart). As in the reference, a token's weight is the max over its
// characters, so " Obama" with its leading space scores 1.

import nlp from 'compromise';
import datesPlugin from 'compromise-dates';
import { padWeights, tokenWeightsFromCharScores } from './char-spans.js';

let pluginLoaded = false;
function parser(): typeof nlp {
  if (!pluginLoaded) {
    nlp.plugin(datesPlugin);
    pluginLoaded = true;
  }
  return nlp;
}

interface TermJson {
  text: string;
  pre: string;
  post: string;
  tags: string[];
  offset: { start: number; length: number };
}

interface Term {
  text: string;
  pre: string;
  post: string;
  tags: Set<string>;
  start: number;
  end: number;
}

export type SalientKind = 'entity' | 'date';

/** A salient character span [start, end) of the text. */
export interface SalientSpan {
  start: number;
  end: number;
  text: string;
  kind: SalientKind;
}

const ENTITY_TAGS = ['Person', 'Place', 'Organization', 'ProperNoun', 'Demonym'];
const DATE_TAGS = ['Date', 'Month', 'WeekDay', 'Year'];
const NEVER = ['Money', 'Percent', 'Currency', 'Honorific', 'Pronoun'];
const NOT_IN_DATE = ['Preposition', 'Conjunction'];
const NOT_EXTENDED = ['Pronoun', 'Determiner', 'Preposition', 'Conjunction', 'Verb', 'Adverb', 'QuestionWord', 'Plural', 'Honorific', 'Value'];
const CONNECTORS = new Set(['of', 'de', 'da', 'del', 'della', 'di', 'du', 'la', 'le', 'van', 'von', 'der', 'den', 'al', 'bin']);

const hasAny = (t: Term, tags: readonly string[]): boolean => tags.some((x) => t.tags.has(x));
const isSpaceOnly = (s: string): boolean => /^\s*$/u.test(s);

/** Terms of each sentence with their character spans in `text`. */
function termsBySentence(text: string): Term[][] {
  const doc = parser()(text);
  const json = doc.json({ offset: true, terms: { offset: true } }) as { terms: TermJson[] }[];
  const sentences: Term[][] = [];
  let cursor = 0;
  for (const sentence of json) {
    const terms: Term[] = [];
    for (const tj of sentence.terms) {
      if (tj.text.length === 0) continue; // implicit terms of contractions ("didn't" -> "did" "not")
      let start = tj.offset.start;
      // Offsets are code-unit positions of the original text; fall back to a sequential search (what the
      // reference does with spaCy tokens) if compromise ever reports one that does not match.
      if (text.substr(start, tj.text.length) !== tj.text) {
        start = text.indexOf(tj.text, cursor);
        if (start < 0) continue;
      }
      cursor = start + tj.text.length;
      terms.push({ text: tj.text, pre: tj.pre, post: tj.post, tags: new Set(tj.tags), start, end: cursor });
    }
    sentences.push(terms);
  }
  return sentences;
}

/** Whether terms i and i+1 of a sentence are joined by whitespace only (no punctuation between). */
function joined(terms: Term[], i: number): boolean {
  return isSpaceOnly(terms[i]!.post) && terms[i + 1]!.pre.length === 0;
}

/** A term that makes a run of date-tagged terms a real date: a year, a duration word, a capitalised month or weekday. */
function isDateAnchor(t: Term): boolean {
  if (t.tags.has('Year')) return true;
  // spaCy calls "three days" a DATE but "an hour" a TIME (ignored).
  if (t.tags.has('Duration')) return /^(day|week|month|year|decade|centur)/i.test(t.text);
  return hasAny(t, ['Month', 'WeekDay']) && /^\p{Lu}/u.test(t.text);
}

function classify(terms: Term[]): (SalientKind | null)[] {
  // Runs of consecutive date-tagged terms count only with an anchor: compromise-dates also tags "sat"
  // (Saturday) in "the cat sat" and "on 3" in "on 3 mats".
  const inDate = new Array<boolean>(terms.length).fill(false);
  for (let i = 0; i < terms.length; ) {
    if (!hasAny(terms[i]!, DATE_TAGS)) {
      i++;
      continue;
    }
    let j = i;
    while (j < terms.length && hasAny(terms[j]!, DATE_TAGS)) j++;
    if (terms.slice(i, j).some(isDateAnchor)) inDate.fill(true, i, j);
    i = j;
  }
  const kinds: (SalientKind | null)[] = terms.map((t, i) => {
    if (hasAny(t, NEVER)) return null;
    if (t.tags.has('Time') && !hasAny(t, ['Month', 'WeekDay', 'Year'])) return null;
    if (inDate[i] && !hasAny(t, NOT_IN_DATE)) return 'date';
    if (/^(\d\d)?\d0s$|^'\d0s$/.test(t.text)) return 'date';
    if (/^\d{4}$/.test(t.text)) {
      const year = Number(t.text);
      const next = terms[i + 1];
      const countsSomething = next !== undefined && joined(terms, i) && hasAny(next, ['Noun', 'Unit']) && !hasAny(next, ENTITY_TAGS);
      if (year >= 1000 && year <= 2099 && !countsSomething) return 'date';
    }
    // Common nouns that compromise folds into a place or organisation ("city" in "the city of X") are
    // not names: an entity term must contain a capital letter or a digit.
    if (hasAny(t, ENTITY_TAGS) && /[\p{Lu}\p{N}]/u.test(t.text)) return 'entity';
    return null;
  });
  // Grow entity runs: capitalised nouns next to an entity term, then connectors between two entity terms.
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < terms.length; i++) {
      if (kinds[i] !== null) continue;
      const t = terms[i]!;
      const leftEntity = i > 0 && kinds[i - 1] === 'entity' && joined(terms, i - 1);
      const rightEntity = i + 1 < terms.length && kinds[i + 1] === 'entity' && joined(terms, i);
      const capitalised =
        /^\p{Lu}/u.test(t.text) &&
        ((hasAny(t, ['Noun', 'Adjective']) && !hasAny(t, NOT_EXTENDED)) || t.tags.has('RomanNumeral')) &&
        !hasAny(t, NEVER);
      const connector = CONNECTORS.has(t.text) && leftEntity && rightEntity;
      if ((capitalised && (leftEntity || rightEntity)) || connector) {
        kinds[i] = 'entity';
        changed = true;
      }
    }
  }
  return kinds;
}

/**
 * The salient spans of a text, one per term. A capitalised noun or adjective that occurs elsewhere in the
 * text as an entity term counts as one everywhere (e.g. a sentence-initial "Dunulia is a small town").
 */
export function salientSpans(text: string): SalientSpan[] {
  const sentences = termsBySentence(text);
  const kinds = sentences.map(classify);
  const entityNames = new Set<string>();
  sentences.forEach((terms, s) => terms.forEach((t, i) => kinds[s]![i] === 'entity' && entityNames.add(t.text)));
  const spans: SalientSpan[] = [];
  sentences.forEach((terms, s) => {
    terms.forEach((t, i) => {
      let kind = kinds[s]![i];
      if (
        kind == null &&
        entityNames.has(t.text) &&
        /^\p{Lu}/u.test(t.text) &&
        hasAny(t, ['Noun', 'Adjective']) &&
        !hasAny(t, NOT_EXTENDED) &&
        !hasAny(t, NEVER)
      ) {
        kind = 'entity';
      }
      if (kind == null) return;
      let end = t.end;
      if (kind === 'entity' && /['’]s$/.test(t.text) && t.text.length > 2) end -= 2; // possessive
      spans.push({ start: t.start, end, text: text.slice(t.start, end), kind });
    });
  });
  return spans;
}

/** 1 for every character inside a salient span, else 0; length = text.length. */
export function ssmCharMask(text: string): Uint8Array {
  const mask = new Uint8Array(text.length);
  for (const s of salientSpans(text)) mask.fill(1, s.start, s.end);
  return mask;
}

/**
 * Binary SSM weights of the real tokens of one sequence, given each token decoded on its own (the pieces
 * concatenate to the text). Returns one weight per piece (no padding).
 */
export function ssmTokenWeights(pieces: readonly string[]): Float64Array {
  return tokenWeightsFromCharScores(pieces, ssmCharMask(pieces.join('')));
}

/** SSM weights padded to `paddedLength` (pads 0): the per-sequence output of the reference's `SSM.forward`. */
export function ssmWeights(pieces: readonly string[], paddedLength: number): Float32Array {
  return padWeights(ssmTokenWeights(pieces), paddedLength);
}

/** SSM weights of a batch, row-major [B, paddedLength]. */
export function ssmWeightsBatch(batch: readonly (readonly string[])[], paddedLength: number): Float32Array {
  const out = new Float32Array(batch.length * paddedLength);
  batch.forEach((pieces, b) => out.set(ssmWeights(pieces, paddedLength), b * paddedLength));
  return out;
}
