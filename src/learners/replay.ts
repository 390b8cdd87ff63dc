/**
 * Experience replay (Ratcliff 1990; Robins 1995): each minibatch of a new task mixes in a fixed fraction of stored
 * examples of earlier tasks, the lecture's "mix in about 10%".
 */
import type { Rng } from "../core/random";

/** How a minibatch of `batchSize` splits into current-task and replayed examples. */
export interface ReplaySplit {
  readonly current: number;
  readonly replayed: number;
}

/** round(fraction · batchSize) replayed, the rest current; throws unless 0 <= fraction < 1 and a current example stays. */
export function replayCounts(batchSize: number, fraction: number): ReplaySplit {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`replay: batchSize must be a positive integer, got ${batchSize}.`);
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`replay fraction must be in [0, 1), got ${fraction}. Use e.g. 0.1 for 10% of each batch.`);
  const replayed = Math.round(fraction * batchSize);
  if (replayed >= batchSize) throw new Error(`replay fraction ${fraction} of a batch of ${batchSize} leaves no current-task example; lower it or use a bigger batch.`);
  return { current: batchSize - replayed, replayed };
}

/** Indices of one mixed minibatch, drawn with replacement: `current` from 0..nCurrent-1, `replayed` from 0..nReplay-1. */
export interface ReplayBatch {
  readonly current: number[];
  readonly replayed: number[];
}

/**
 * Draws one mixed minibatch. With no stored examples yet (`nReplay` = 0, the first task) the whole batch is current.
 * Current indices are drawn first, then replayed ones, from the same stream.
 */
export function replayBatch(rng: Rng, nCurrent: number, nReplay: number, batchSize: number, fraction: number): ReplayBatch {
  if (!Number.isInteger(nCurrent) || nCurrent < 1) throw new Error(`replayBatch: the current task needs at least one example, got ${nCurrent}.`);
  const split = nReplay > 0 ? replayCounts(batchSize, fraction) : { current: batchSize, replayed: 0 };
  const current = Array.from({ length: split.current }, () => rng.int(nCurrent));
  const replayed = Array.from({ length: split.replayed }, () => rng.int(nReplay));
  return { current, replayed };
}
