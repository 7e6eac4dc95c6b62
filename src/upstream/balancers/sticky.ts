// STICKY: a client keeps its replica (for session state or warm per-user caches) as long
// as the call may use it. When it may not (unhealthy, ejected, or already tried by this
// call), the client moves to the least loaded usable replica and stays there, also after
// the old one comes back: moving it back would lose the state it has built up since.
// Clients are remembered by key (ctx.key, "sub:…", "h:…" or "ip:…", see callKey) in a Map
// kept in least-recently-seen order, so both bounds are cheap: past stickyMaxClients the
// oldest entry goes, and entries unseen for stickyTtlMs are dropped from the front as picks
// go by. Entries name the replica by url, so a client whose replica is reloaded as a new
// object with the same url keeps it. Calls without a key go to the least loaded replica.
import type { BalanceSettings, LoadBalancer, PickContext, Replica } from '../types.js';
import { leastLoaded } from './least-connections.js';

interface Seen {
  url: string;
  at: number;
}

export class StickyBalancer implements LoadBalancer {
  #replicas: readonly Replica[] = [];
  #byUrl = new Map<string, Replica>();
  /** Client key -> its replica; the first entry is the least recently seen. */
  #clients = new Map<string, Seen>();
  readonly #ttlMs: number;
  readonly #maxClients: number;
  readonly #random: () => number;

  constructor(settings: Pick<BalanceSettings, 'stickyTtlMs' | 'stickyMaxClients'>, random: () => number = Math.random) {
    this.#ttlMs = settings.stickyTtlMs;
    this.#maxClients = Math.max(1, settings.stickyMaxClients);
    this.#random = random;
  }

  /** Clients remembered now (for tests and the admin view). */
  get size(): number {
    return this.#clients.size;
  }

  update(replicas: readonly Replica[]): void {
    this.#replicas = replicas;
    this.#byUrl = new Map(replicas.map((r) => [r.url, r]));
  }

  pick(ctx: PickContext): Replica | undefined {
    const key = ctx.key;
    if (key === undefined) return leastLoaded(this.#replicas, ctx, this.#random);
    this.#forgetExpired(ctx.now);
    const seen = this.#clients.get(key);
    const current = seen && this.#byUrl.get(seen.url);
    const replica = current && ctx.usable(current) ? current : leastLoaded(this.#replicas, ctx, this.#random);
    if (!replica) return undefined; // nothing usable: keep what the client had
    this.#clients.delete(key); // re-insert: now the most recently seen
    this.#clients.set(key, { url: replica.url, at: ctx.now });
    if (this.#clients.size > this.#maxClients) {
      const oldest = this.#clients.keys().next().value;
      if (oldest !== undefined) this.#clients.delete(oldest);
    }
    return replica;
  }

  /** Drops entries unseen for the TTL; they are in seen order, so only the front is read. */
  #forgetExpired(now: number): void {
    for (const [key, seen] of this.#clients) {
      if (now - seen.at < this.#ttlMs) return;
      this.#clients.delete(key);
    }
  }
}
