// Where the response cache keeps answers: the interface both stores implement, and the
// in-memory one (the default; with --redis-url, redis-response-store.ts). An entry is the
// answer's `data` only (errors are never cached; extensions such as cost belong to the request
// that is being answered) and when it was stored, for the Age header.
//
// In memory: least recently used first out, bounded by entries and by bytes (the JSON size of
// the data); an entry bigger than an eighth of the byte bound is not kept. Entities
// ({ typename, id }) index the entries that hold them, so a mutation that returns one drops
// them (the envelop plugin's invalidation).

export interface StoredResponse {
  data: unknown;
  /** Epoch ms. */
  storedAt: number;
}

export interface CacheEntity {
  typename: string;
  id?: number | string;
}

export interface ResponseStore {
  /** Never rejects: a store that cannot answer is a miss. */
  get(id: string): Promise<StoredResponse | undefined> | StoredResponse | undefined;
  /** Whether the entry was kept (not when too big, already expired, or the store failed). Never rejects. */
  set(id: string, entry: StoredResponse, entities: Iterable<CacheEntity>, ttlMs: number): Promise<boolean> | boolean;
  /** Drops every entry holding one of these entities (a typename without id: every entry of that type). */
  invalidate(entities: Iterable<CacheEntity>): Promise<void> | void;
  close(): Promise<void>;
}

export interface MemoryLimits {
  maxEntries: number;
  maxBytes: number;
}

export const DEFAULT_MEMORY_LIMITS: MemoryLimits = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 };

export function entityKey(typename: string, id?: number | string): string {
  return id === undefined || id === null ? typename : `${typename}:${id}`;
}

interface Entry {
  stored: StoredResponse;
  expiresAt: number;
  bytes: number;
  entities: string[];
}

export class MemoryResponseStore implements ResponseStore {
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  readonly #entries = new Map<string, Entry>();
  readonly #byEntity = new Map<string, Set<string>>();
  #bytes = 0;

  constructor(
    private readonly limits: MemoryLimits = DEFAULT_MEMORY_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }

  get(id: string): StoredResponse | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#drop(id);
      return undefined;
    }
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry.stored;
  }

  set(id: string, stored: StoredResponse, entities: Iterable<CacheEntity>, ttlMs: number): boolean {
    const bytes = JSON.stringify(stored.data)?.length ?? 0;
    if (bytes > this.limits.maxBytes / 8 || ttlMs <= 0) return false;
    this.#drop(id);
    const keys = new Set<string>();
    for (const e of entities) {
      keys.add(entityKey(e.typename));
      if (e.id !== undefined) keys.add(entityKey(e.typename, e.id));
    }
    this.#entries.set(id, { stored, expiresAt: this.now() + ttlMs, bytes, entities: [...keys] });
    this.#bytes += bytes;
    for (const key of keys) {
      let ids = this.#byEntity.get(key);
      if (!ids) this.#byEntity.set(key, (ids = new Set()));
      ids.add(id);
    }
    while (this.#entries.size > this.limits.maxEntries || this.#bytes > this.limits.maxBytes)
      this.#drop(this.#entries.keys().next().value!);
    return true;
  }

  invalidate(entities: Iterable<CacheEntity>): void {
    for (const e of entities) {
      const ids = this.#byEntity.get(entityKey(e.typename, e.id));
      if (ids) for (const id of [...ids]) this.#drop(id);
    }
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#byEntity.clear();
    this.#bytes = 0;
  }

  #drop(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
    for (const key of entry.entities) {
      const ids = this.#byEntity.get(key);
      ids?.delete(id);
      if (ids?.size === 0) this.#byEntity.delete(key);
    }
  }
}
