// A ring of the last `capacity` entries: pushing past it overwrites the oldest one, so a
// flood of events (a flapping replica, a client hammering a limit) costs a fixed amount of
// memory and pushes out only older entries of the same log.

export class BoundedLog<T> {
  readonly #entries: (T | undefined)[];
  /** Index the next push writes to. */
  #next = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    this.#entries = new Array<T | undefined>(capacity);
  }

  push(entry: T): void {
    this.#entries[this.#next] = entry;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  /** The entry pushed last, if any. */
  newest(): T | undefined {
    return this.#size ? this.#entries[(this.#next - 1 + this.capacity) % this.capacity] : undefined;
  }

  /** Every entry, newest first. */
  newestFirst(): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.#size; i++)
      out.push(this.#entries[(this.#next - i + this.capacity) % this.capacity] as T);
    return out;
  }
}
