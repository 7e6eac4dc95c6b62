// What GET /status/history answers and the status page draws: per upstream and per replica,
// the last five minutes of calls, failures and latency p50/p99 in one-second buckets
// (call-series.ts), the recent health events (down, up, ejected) and the recent rate-limit,
// cost and overload refusals. It is fed as the pools and limits act: a ClusterObserver
// (src/upstream/types.ts) for calls and health, and limitRejection() as SecurityMetrics
// reports refusals (src/security/security-metrics.ts). Everything is in memory and bounded:
// one CallSeries (SERIES_BYTES) per upstream and per replica seen in the last five minutes,
// and two fixed-size logs. It answers for this process only (each --workers worker has its own).
import type { QuiltError } from '../errors.js';
import type { LimitRejectionReason } from '../security/security-metrics.js';
import { systemClock } from '../upstream/clock.js';
import type {
  AttemptOutcome,
  ClusterObserver,
  EjectionReason,
  ReplicaSnapshot,
  UpstreamSnapshot,
} from '../upstream/types.js';
import { BoundedLog } from './bounded-log.js';
import { CallSeries, type SeriesPoints, WINDOW_SECONDS } from './call-series.js';
import { binOf } from './latency-histogram.js';

/** Health events kept (all upstreams together). */
export const HEALTH_EVENTS_KEPT = 200;
/** Refusal entries kept; a refusal repeating the newest entry is folded into it (`count`). */
export const REJECTIONS_KEPT = 100;

export interface HealthEvent {
  /** Epoch ms. */
  at: number;
  upstream: string;
  replica: string;
  /** down: failed its active health checks; up: passed them again; ejected: by outlier detection. */
  kind: 'down' | 'up' | 'ejected';
  /** The failed check's error, "passed N checks", or the outlier rule that ejected it. */
  reason: string;
  /** ejected: how long it is kept out; up: how long it was down (null when that began before this process saw it). */
  durationMs: number | null;
}

/** The refusals the page lists: the limits' (SecurityMetrics reasons) and the pools' circuit breakers. */
export type ShownRejection = 'cost_limit' | 'cost_budget' | 'rate_limit' | 'in_flight' | 'upstream_overload';

export interface RejectionEntry {
  /** Epoch ms of the first and the latest refusal folded into this entry. */
  at: number;
  lastAt: number;
  count: number;
  reason: ShownRejection;
  /** The error code the client got. */
  code: string;
  /** The message the client got (an upstream's refusal: which upstream and its cap). */
  message: string;
  upstream: string | null;
}

const CODES: Record<ShownRejection, string> = {
  cost_limit: 'COST_LIMIT_EXCEEDED',
  cost_budget: 'RATE_LIMITED',
  rate_limit: 'RATE_LIMITED',
  in_flight: 'OVERLOADED',
  upstream_overload: 'UPSTREAM_UNAVAILABLE',
};

export type ReplicaView = ReplicaSnapshot & { series: SeriesPoints };
export type UpstreamView = Omit<UpstreamSnapshot, 'replicas'> & { series: SeriesPoints; replicas: ReplicaView[] };

export interface StatusView {
  /** Server time, epoch ms. */
  now: number;
  /** The seconds every `series` covers (epoch seconds, inclusive); `to` is the last complete second. */
  window: { seconds: number; from: number; to: number };
  upstreams: UpstreamView[];
  /** Newest first. */
  events: HealthEvent[];
  rejections: { perSecond: number[]; recent: RejectionEntry[] };
}

interface ReplicaHistory {
  series: CallSeries;
  /** Its upstream's series, counted with it. */
  upstream: CallSeries;
  /** Epoch ms it went down (failed health checks), 0 while up. */
  downSince: number;
}

interface UpstreamHistory {
  series: CallSeries;
  replicas: Map<string, ReplicaHistory>;
}

export class StatusHistory implements ClusterObserver {
  readonly #now: () => number;
  readonly #upstreams = new Map<string, UpstreamHistory>();
  readonly #events = new BoundedLog<HealthEvent>(HEALTH_EVENTS_KEPT);
  readonly #rejections = new BoundedLog<RejectionEntry>(REJECTIONS_KEPT);
  readonly #rejectionsPerSecond = new CallSeries();

  /** `now`: the pools' clock (src/upstream/clock.ts), so that a second the view calls complete gets no later call. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? systemClock.now;
  }

  /** Upstreams and replicas with a series now (for the memory bound's tests). */
  get seriesCount(): number {
    let n = 0;
    for (const u of this.#upstreams.values()) n += 1 + u.replicas.size;
    return n;
  }

  // ClusterObserver: attempt() runs on every upstream call, so it only looks up and counts.

  attempt(upstream: string, replica: string, outcome: AttemptOutcome, durationMs: number, endedAt?: number): void {
    // The pool's own reading of its clock: reading one again costs more than all the rest here.
    const second = Math.floor((endedAt ?? this.#now()) / 1000);
    const u = this.#upstreams.get(upstream);
    const r = u?.replicas.get(replica) ?? this.#add(upstream, replica, second);
    const failed = outcome !== 'success' && outcome !== 'cancelled';
    // As the balancer's latency (cluster.ts): a refused connection or a cancelled attempt is no latency sample.
    const bin = outcome === 'connect' || outcome === 'cancelled' ? -1 : binOf(durationMs);
    r.series.record(second, failed, bin);
    r.upstream.record(second, failed, bin);
  }

  retry(): void {}

  ejection(upstream: string, replica: string, durationMs: number, reason: EjectionReason): void {
    this.#events.push({ at: this.#now(), upstream, replica, kind: 'ejected', reason, durationMs });
  }

  healthChange(upstream: string, replica: string, healthy: boolean, reason: string): void {
    const at = this.#now();
    const second = Math.floor(at / 1000);
    const r = this.#upstreams.get(upstream)?.replicas.get(replica) ?? this.#add(upstream, replica, second);
    const durationMs = healthy && r.downSince ? at - r.downSince : null;
    r.downSince = healthy ? 0 : at;
    this.#events.push({ at, upstream, replica, kind: healthy ? 'up' : 'down', reason, durationMs });
  }

  rejection(upstream: string, _reason: 'overload'): void {
    this.#refused('upstream_overload', `upstream "${upstream}" is at its maxInFlight`, upstream);
  }

  /** SecurityMetrics' refusal (and --max-in-flight's): the cost, budget, rate and in-flight ones are listed. */
  limitRejection(reason: LimitRejectionReason, refusal?: QuiltError): void {
    if (reason === 'cost_limit' || reason === 'cost_budget' || reason === 'rate_limit' || reason === 'in_flight')
      this.#refused(reason, refusal?.message ?? '', null, refusal?.code);
  }

  /** The series of the upstreams in `snapshots` for the seconds after `sinceSecond` (default: the whole window). */
  view(snapshots: readonly UpstreamSnapshot[], sinceSecond?: number): StatusView {
    const now = this.#now();
    const nowSecond = Math.floor(now / 1000);
    this.#prune(nowSecond);
    const to = nowSecond - 1;
    const from = Math.max(to - WINDOW_SECONDS + 1, sinceSecond === undefined ? -Infinity : sinceSecond + 1);
    const read = (series: CallSeries | undefined) => (series ?? EMPTY).read(from, to, nowSecond);
    const upstreams = snapshots.map((snapshot): UpstreamView => {
      const u = this.#upstreams.get(snapshot.name);
      return {
        ...snapshot,
        series: read(u?.series),
        replicas: snapshot.replicas.map((r) => ({ ...r, series: read(u?.replicas.get(r.url)?.series) })),
      };
    });
    return {
      now,
      window: { seconds: WINDOW_SECONDS, from, to },
      upstreams,
      events: this.#events.newestFirst(),
      rejections: {
        perSecond: this.#rejectionsPerSecond.read(from, to, nowSecond).calls,
        recent: this.#rejections.newestFirst().map((e) => ({ ...e })),
      },
    };
  }

  #refused(reason: ShownRejection, message: string, upstream: string | null, code = CODES[reason]): void {
    const at = this.#now();
    this.#rejectionsPerSecond.record(Math.floor(at / 1000), false, -1);
    const newest = this.#rejections.newest();
    if (newest && newest.reason === reason && newest.message === message && newest.upstream === upstream) {
      newest.count++;
      newest.lastAt = at;
      return;
    }
    this.#rejections.push({ at, lastAt: at, count: 1, reason, code, message, upstream });
  }

  /** A series for a replica seen for the first time (and for its upstream, if that is new too). */
  #add(upstream: string, replica: string, second: number): ReplicaHistory {
    this.#prune(second);
    let u = this.#upstreams.get(upstream);
    if (!u) this.#upstreams.set(upstream, (u = { series: new CallSeries(), replicas: new Map() }));
    const r: ReplicaHistory = { series: new CallSeries(), upstream: u.series, downSince: 0 };
    u.replicas.set(replica, r);
    return r;
  }

  /**
   * Forgets series with nothing in the window (a replica or upstream a reload removed, or
   * one idle for five minutes; a down replica is kept for its downtime), so memory follows
   * what was used in the last five minutes, not every url ever served.
   */
  #prune(nowSecond: number): void {
    const stale = (series: CallSeries) => series.lastSecond < nowSecond - WINDOW_SECONDS;
    for (const [name, u] of this.#upstreams) {
      for (const [url, r] of u.replicas) if (stale(r.series) && !r.downSince) u.replicas.delete(url);
      if (u.replicas.size === 0 && stale(u.series)) this.#upstreams.delete(name);
    }
  }
}

/** Read in place of a series never created: every second empty. */
const EMPTY = new CallSeries();
