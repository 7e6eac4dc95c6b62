// Latency quantiles without keeping samples: a fixed histogram of log-spaced bins, four per
// doubling (each bin's upper bound is 2^(1/4) ≈ 1.19 times its lower one), from 0.1 ms to
// about 105 s, plus one bin below and one above. A quantile is interpolated linearly inside
// the bin that holds the sample of that rank (as Prometheus' histogram_quantile does), so it
// lands in the same bin as the exact value: off by at most one bin's width, about 19%.
// Recording is one Math.log2 and one array increment: no allocation.

/** Lower bound of bin 1; bin 0 holds everything faster. */
export const HISTOGRAM_MIN_MS = 0.1;
/** Bins per doubling of latency. */
export const BINS_PER_OCTAVE = 4;
/** Doublings above HISTOGRAM_MIN_MS before the overflow bin: 0.1 ms x 2^20 ≈ 105 s. */
const OCTAVES = 20;
export const HISTOGRAM_BINS = OCTAVES * BINS_PER_OCTAVE + 2;

/** The bin a latency falls in (NaN and negative values count as the fastest). */
export function binOf(ms: number): number {
  if (!(ms >= HISTOGRAM_MIN_MS)) return 0;
  const bin = 1 + Math.floor(Math.log2(ms / HISTOGRAM_MIN_MS) * BINS_PER_OCTAVE);
  return bin < HISTOGRAM_BINS ? bin : HISTOGRAM_BINS - 1;
}

/** [lower, upper) of a bin in ms; the overflow bin's upper bound is Infinity. */
export function binBounds(bin: number): [number, number] {
  if (bin <= 0) return [0, HISTOGRAM_MIN_MS];
  const lower = HISTOGRAM_MIN_MS * 2 ** ((bin - 1) / BINS_PER_OCTAVE);
  return [lower, bin >= HISTOGRAM_BINS - 1 ? Infinity : HISTOGRAM_MIN_MS * 2 ** (bin / BINS_PER_OCTAVE)];
}

export class LatencyHistogram {
  readonly counts = new Uint32Array(HISTOGRAM_BINS);
  total = 0;

  /** A sample already binned (binOf): one log computed for several histograms. */
  recordBin(bin: number): void {
    this.counts[bin]++;
    this.total++;
  }

  /** The q-quantile (0 < q <= 1) in ms; NaN when nothing was recorded. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = q * this.total;
    let below = 0;
    for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
      const count = this.counts[bin];
      if (count === 0 || below + count < rank) {
        below += count;
        continue;
      }
      const [lower, upper] = binBounds(bin);
      // The overflow bin has no upper bound to interpolate towards: its lower bound is the answer.
      if (upper === Infinity) return lower;
      return lower + ((upper - lower) * Math.max(0, rank - below)) / count;
    }
    return binBounds(HISTOGRAM_BINS - 1)[0];
  }

  clear(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}
