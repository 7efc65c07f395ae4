// Decoding strategies with Hugging Face transformers semantics over next-token distributions from
// a NextTokenSource. The selection happens where the distributions are (the device for KvDecoder):
// each step reads back only the top k token ids and log-probs of each row (NextTokens.top), and
// the beam bookkeeping runs on the host over those candidates (candidates.ts: exact, as if every
// token had been scanned; scores in float64 as before).
//
// - greedySearch: argmax each step (the top 1 of each row); a row stops at EOS; all stop at maxNewTokens.
// - beamSearch: the vectorised beam search of transformers >= 4.50 (5.x): top max(2, 1+#eos)·numBeams
//   candidates over beams×vocab; candidates ranked below numBeams never finish; a finished sequence
//   (EOS or max length) scores sum_logprobs / generated_length ** lengthPenalty, where the
//   generated length counts the new token (EOS included) and not the prompt; early stopping and
//   the "improvement impossible" heuristic freeze a prompt's finished set.
// - groupBeamSearch: diverse (group) beam search as transformers' _group_beam_search +
//   BeamSearchScorer (per-group BeamHypotheses, 4.3x–4.5x; in 5.x it lives on the Hub as
//   transformers-community/group-beam-search): groups are advanced in order within a step, and
//   group g subtracts diversityPenalty × (how often each token was chosen at this step by groups
//   < g of the same prompt) from its log-probs (HammingDiversityLogitsProcessor).
//
// Prompts are independent: each prompt's result equals decoding it alone. Rows whose result can no
// longer change are dropped from the batch instead of being fed pads.

import { bestCandidates } from './candidates.js';
import type { NextTokenSource } from './decoder.js';
import type { NextTokens } from './next-tokens.js';

export type EarlyStopping = boolean | 'never';

export interface SearchOptions {
  maxNewTokens: number;
  /** Tokens that end a sequence (empty: none). */
  eosTokenIds: readonly number[];
  /** Filler for finished groups (only used as their "current token" in diversity counts). */
  padTokenId: number;
}

export interface BeamOptions extends SearchOptions {
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  /** How many finished sequences to return per prompt (<= numBeams). */
  numReturnSequences: number;
}

export interface GroupBeamOptions extends BeamOptions {
  numBeamGroups: number;
  diversityPenalty: number;
}

/** A generated continuation (new tokens only). */
export interface Hypothesis {
  tokens: number[];
  /** Greedy: sum of the chosen tokens' log-probs. Beam: sum_logprobs / length ** lengthPenalty. */
  score: number;
  /** Ended with an EOS token (else it ran to maxNewTokens). */
  eos: boolean;
  /** Group beam search: the group that produced it. */
  group?: number;
}

const NEG = -1.0e9; // transformers' "very large negative" marker

function checkRows(lp: NextTokens, rows: number): void {
  if (lp.rows !== rows) throw new Error(`generate: expected log-probs for ${rows} rows, got ${lp.rows}`);
}

// ------------------------------------------------------------------------------------------------
// greedy

export async function greedySearch(src: NextTokenSource, numPrompts: number, opts: SearchOptions): Promise<Hypothesis[][]> {
  const eos = new Set(opts.eosTokenIds);
  const out: Hypothesis[] = Array.from({ length: numPrompts }, () => ({ tokens: [], score: 0, eos: false }));
  if (opts.maxNewTokens <= 0) return out.map((h) => [h]);
  let lp = await src.start();
  checkRows(lp, numPrompts);
  let active = out.map((_, b) => b); // prompt of each current row
  for (let step = 0; step < opts.maxNewTokens; step++) {
    const parents: number[] = [];
    const tokens: number[] = [];
    const next: number[] = [];
    const best = await lp.top(1); // the argmax of each row: ties to the lower id, NaN never wins
    active.forEach((b, r) => {
      const t = best.tokens[r]!;
      const v = best.values[r]!;
      if (Number.isNaN(v)) throw new Error('generate: the model produced NaN log-probs');
      const h = out[b]!;
      h.tokens.push(t);
      h.score += v;
      if (eos.has(t)) h.eos = true;
      else if (step + 1 < opts.maxNewTokens) {
        parents.push(r);
        tokens.push(t);
        next.push(b);
      }
    });
    if (next.length === 0) break;
    lp = await src.step(parents, tokens);
    checkRows(lp, next.length);
    active = next;
  }
  return out.map((h) => [h]);
}

// ------------------------------------------------------------------------------------------------
// beam search (transformers 5.x)

interface Running {
  tokens: number[];
  score: number;
  /** Row of the source's last log-probs holding this beam's next-token distribution. */
  row: number;
}

interface Slot {
  tokens: number[];
  score: number;
  finished: boolean;
}

interface BeamState {
  running: Running[];
  slots: Slot[];
  /** transformers' is_early_stop_heuristic_unsatisfied */
  improvable: boolean;
  frozen: boolean;
}

/** Indices of the n largest scores, best first, ties to the lower index (a stable sort). */
function topIndices(scores: readonly number[], n: number): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, n)
    .map(([, i]) => i);
}

function checkBeamOptions(o: BeamOptions): void {
  if (!Number.isInteger(o.numBeams) || o.numBeams < 1) throw new Error(`generate: numBeams must be a positive integer, got ${o.numBeams}`);
  if (!Number.isInteger(o.numReturnSequences) || o.numReturnSequences < 1 || o.numReturnSequences > o.numBeams) {
    throw new Error(`generate: numReturnSequences must be in [1, numBeams=${o.numBeams}], got ${o.numReturnSequences}`);
  }
  if (!Number.isFinite(o.lengthPenalty)) throw new Error(`generate: lengthPenalty must be finite, got ${o.lengthPenalty}`);
  if (o.earlyStopping !== true && o.earlyStopping !== false && o.earlyStopping !== 'never') {
    throw new Error(`generate: earlyStopping must be true, false or 'never', got ${String(o.earlyStopping)}`);
  }
}

export async function beamSearch(src: NextTokenSource, numPrompts: number, opts: BeamOptions): Promise<Hypothesis[][]> {
  checkBeamOptions(opts);
  const nb = opts.numBeams;
  const eos = new Set(opts.eosTokenIds);
  const keep = Math.max(2, 1 + opts.eosTokenIds.length) * nb;
  const lpPow = (len: number) => len ** opts.lengthPenalty;
  if (opts.maxNewTokens <= 0) {
    return Array.from({ length: numPrompts }, () => [{ tokens: [], score: 0, eos: false }]);
  }

  const states: BeamState[] = Array.from({ length: numPrompts }, (_, b) => ({
    // every beam starts as the prompt; only the first counts (the others score -1e9)
    running: Array.from({ length: nb }, (_, i) => ({ tokens: [], score: i === 0 ? 0 : NEG, row: b })),
    slots: Array.from({ length: nb }, () => ({ tokens: [], score: NEG, finished: false })),
    improvable: true,
    frozen: false,
  }));
  let lp = await src.start();
  checkRows(lp, numPrompts);
  let active = states.map((_, b) => b);

  for (let gen = 0; ; ) {
    const atMax = gen + 1 >= opts.maxNewTokens; // every candidate hits the max-length criterion
    for (const b of active) {
      const st = states[b]!;
      const V = lp.vocab;
      // a. top candidates over beams × vocab of the accumulated log-probs
      const top = await bestCandidates(lp, st.running, keep, keep + 1, {
        score: (v, _t, beam) => v + beam.score,
        bound: (v, beam) => v + beam.score,
      });
      if (top.values.length < keep) throw new Error('generate: the model produced NaN log-probs');
      const cand = top.indices.map((flat, k) => {
        const beam = st.running[Math.floor(flat / V)]!;
        const token = flat % V;
        return { beam, token, score: top.values[k]!, hit: atMax || eos.has(token) };
      });
      // b. the beams that continue: best candidates that did not stop
      const runScores = cand.map((c) => c.score + (c.hit ? NEG : 0));
      const nextRunning = topIndices(runScores, nb).map((k) => {
        const c = cand[k]!;
        return { tokens: [...c.beam.tokens, c.token], score: runScores[k]!, row: c.beam.row };
      });
      // c. finished sequences: only candidates ranked in the top numBeams can finish
      const full = st.slots.every((s) => s.finished) && opts.earlyStopping === true;
      const denom = lpPow(gen + 1);
      const merged: Slot[] = [...st.slots];
      cand.forEach((c, k) => {
        const justFinished = c.hit && k < nb;
        let s = c.score / denom;
        if (full) s += NEG;
        if (!st.improvable) s += NEG;
        if (!justFinished) s += NEG;
        merged.push({ tokens: [...c.beam.tokens, c.token], score: s, finished: justFinished });
      });
      st.slots = topIndices(
        merged.map((m) => m.score),
        nb,
      ).map((i) => merged[i]!);
      st.running = nextRunning;
    }
    gen++;
    // d. can the running beams still beat the worst finished one?
    for (const b of active) {
      const st = states[b]!;
      const hypLen = opts.earlyStopping === 'never' && opts.lengthPenalty > 0 ? opts.maxNewTokens : gen;
      const best = st.running[0]!.score / lpPow(hypLen);
      const worst = Math.min(...st.slots.map((s) => s.score));
      st.improvable = st.improvable && st.slots.some((s) => best > (s.finished ? worst : NEG));
      st.frozen = !st.improvable || (opts.earlyStopping === true && st.slots.every((s) => s.finished));
    }
    if (gen >= opts.maxNewTokens) break;
    const next = active.filter((b) => !states[b]!.frozen);
    if (next.length === 0) break;
    // e. feed the chosen tokens (cache rows follow their beams)
    const parents: number[] = [];
    const tokens: number[] = [];
    next.forEach((b, a) => {
      states[b]!.running.forEach((beam, i) => {
        parents.push(beam.row);
        tokens.push(beam.tokens[beam.tokens.length - 1]!);
        beam.row = a * nb + i;
      });
    });
    lp = await src.step(parents, tokens);
    checkRows(lp, parents.length);
    active = next;
  }

  return states.map((st) =>
    st.slots.slice(0, opts.numReturnSequences).map((s) => {
      if (!s.finished) throw new Error('generate: internal error, beam search ended without enough finished sequences');
      const last = s.tokens[s.tokens.length - 1];
      return { tokens: s.tokens, score: s.score, eos: last !== undefined && eos.has(last) };
    }),
  );
}

// ------------------------------------------------------------------------------------------------
// group (diverse) beam search (transformers' _group_beam_search + BeamSearchScorer)

interface Hyp {
  score: number;
  tokens: number[];
  eos: boolean;
  group: number;
}

/** transformers' BeamHypotheses: the best `capacity` finished sequences of one group of one prompt. */
class BeamHypotheses {
  readonly items: Hyp[] = [];
  worst = 1e9;

  constructor(
    readonly capacity: number,
    readonly lengthPenalty: number,
    readonly earlyStopping: EarlyStopping,
    readonly maxNewTokens: number,
  ) {}

  add(tokens: number[], sumLogprobs: number, generatedLength: number, eos: boolean, group: number): void {
    const score = sumLogprobs / generatedLength ** this.lengthPenalty;
    if (this.items.length < this.capacity || score > this.worst) {
      this.items.push({ score, tokens, eos, group });
      if (this.items.length > this.capacity) {
        const sorted = this.items.map((h, i) => [h.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.items.splice(sorted[0]![1], 1);
        this.worst = sorted[1]![0];
      } else {
        this.worst = Math.min(score, this.worst);
      }
    }
  }

  /** generatedLength: the length (new tokens) the best candidate's score was computed on. */
  isDone(bestSumLogprobs: number, generatedLength: number): boolean {
    if (this.items.length < this.capacity) return false;
    if (this.earlyStopping === true) return true;
    const len = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxNewTokens : generatedLength;
    return this.worst >= bestSumLogprobs / len ** this.lengthPenalty;
  }
}

interface GroupBeam {
  tokens: number[];
  score: number;
  /** Row of the last log-probs, or -1 for the filler beams of a finished group. */
  row: number;
}

interface GroupState {
  beams: GroupBeam[];
  hyps: BeamHypotheses[];
  done: boolean[];
}

export async function groupBeamSearch(src: NextTokenSource, numPrompts: number, opts: GroupBeamOptions): Promise<Hypothesis[][]> {
  checkBeamOptions(opts);
  const nb = opts.numBeams;
  const G = opts.numBeamGroups;
  if (!Number.isInteger(G) || G < 1 || G > nb || nb % G !== 0) {
    throw new Error(`generate: numBeamGroups must divide numBeams (${nb}), got ${G}`);
  }
  if (!Number.isFinite(opts.diversityPenalty)) throw new Error(`generate: diversityPenalty must be finite, got ${opts.diversityPenalty}`);
  const gs = nb / G;
  const eos = new Set(opts.eosTokenIds);
  const keep = Math.max(2, 1 + opts.eosTokenIds.length) * gs;
  if (opts.maxNewTokens <= 0) {
    return Array.from({ length: numPrompts }, () => [{ tokens: [], score: 0, eos: false }]);
  }

  const states: GroupState[] = Array.from({ length: numPrompts }, (_, b) => ({
    // the first beam of every group starts at 0, the others at -1e9
    beams: Array.from({ length: nb }, (_, i) => ({ tokens: [], score: i % gs === 0 ? 0 : NEG, row: b })),
    hyps: Array.from({ length: G }, () => new BeamHypotheses(gs, opts.lengthPenalty, opts.earlyStopping, opts.maxNewTokens)),
    done: new Array<boolean>(G).fill(false),
  }));
  let lp = await src.start();
  checkRows(lp, numPrompts);
  let active = states.map((_, b) => b);
  let gen = 0;

  for (;;) {
    for (const b of active) {
      const st = states[b]!;
      const V = lp.vocab;
      const current = new Array<number>(nb).fill(0); // tokens chosen at this step, by beam
      const next: GroupBeam[] = new Array<GroupBeam>(nb);
      for (let g = 0; g < G; g++) {
        const g0 = g * gs;
        if (st.done[g]) {
          for (let j = 0; j < gs; j++) {
            next[g0 + j] = { tokens: [], score: 0, row: -1 };
            current[g0 + j] = opts.padTokenId;
          }
          continue;
        }
        // Hamming diversity: penalise tokens earlier groups picked at this step
        const counts = new Map<number, number>();
        for (let j = 0; j < g0; j++) counts.set(current[j]!, (counts.get(current[j]!) ?? 0) + 1);
        const dp = opts.diversityPenalty;
        const most = Math.max(0, ...counts.values());
        // earlier groups' tokens (at most nb - gs of them) may be pushed out of a row's top keep;
        // every group asks for the same k, so a step reads its rows once
        const top = await bestCandidates(lp, st.beams.slice(g0, g0 + gs), keep, keep + nb - gs + 1, {
          score: (v, t, beam) => v - dp * (counts.get(t) ?? 0) + beam.score,
          bound: (v, beam) => v - (dp >= 0 ? dp * 0 : dp * most) + beam.score,
        });
        if (top.values.length < keep) throw new Error('generate: the model produced NaN log-probs');
        let j = 0;
        for (let k = 0; k < top.indices.length && j < gs; k++) {
          const flat = top.indices[k]!;
          const beam = st.beams[g0 + Math.floor(flat / V)]!;
          const token = flat % V;
          const score = top.values[k]!;
          if (eos.has(token)) {
            if (k >= gs) continue; // only the top group_size candidates may finish
            st.hyps[g]!.add([...beam.tokens, token], score, gen + 1, true, g);
          } else {
            next[g0 + j] = { tokens: [...beam.tokens, token], score, row: beam.row };
            current[g0 + j] = token;
            j++;
          }
        }
        if (j < gs) throw new Error(`generate: too many EOS candidates to refill group ${g}`);
        st.done[g] = st.done[g]! || st.hyps[g]!.isDone(top.values[0]!, gen + 1);
      }
      st.beams = next;
    }
    gen++;
    if (gen >= opts.maxNewTokens) break;
    const nextActive = active.filter((b) => !states[b]!.done.every((d) => d));
    if (nextActive.length === 0) break;
    const parents: number[] = [];
    const tokens: number[] = [];
    for (const b of nextActive) {
      const st = states[b]!;
      for (const [i, beam] of st.beams.entries()) {
        if (beam.row < 0 || st.done[Math.floor(i / gs)]) {
          beam.row = -1; // finished group: its beams are never scored again
          continue;
        }
        parents.push(beam.row);
        tokens.push(beam.tokens[beam.tokens.length - 1]!);
        beam.row = parents.length - 1;
      }
    }
    lp = await src.step(parents, tokens);
    checkRows(lp, parents.length);
    active = nextActive;
  }

  // finalize: open groups add their running beams, then the best over all groups of the prompt
  return states.map((st) => {
    st.done.forEach((d, g) => {
      if (d) return;
      for (let j = 0; j < gs; j++) {
        const beam = st.beams[g * gs + j]!;
        st.hyps[g]!.add(beam.tokens, beam.score, gen, false, g);
      }
    });
    const all = st.hyps.flatMap((h) => h.items);
    // Python: sorted(ascending, stable) then pop() from the end
    const order = all.map((h, i) => [h.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out: Hypothesis[] = [];
    for (let j = 0; j < opts.numReturnSequences && order.length > 0; j++) {
      const h = all[order.pop()![1]]!;
      out.push({ tokens: h.tokens, score: h.score, eos: h.eos, group: h.group });
    }
    return out;
  });
}
