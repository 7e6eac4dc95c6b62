// Polls files that a load or a certificate read depends on and says when one changed since it
// was read. Polling rather than fs.watch: a certificate usually lives outside the watched
// schemas folder or in a sub-folder, and a Kubernetes Secret volume replaces its files by
// swapping a symlink, which inotify on the file itself does not see. Each file is compared
// with the signature taken when it was read (config/file-signature.ts), so a change made
// between the read and the first poll is not missed.
import { currentFileSignature } from '../config/file-signature.js';

/** How often followed files are checked: a renewed certificate or a swapped Secret is served within a second or so. */
const POLL_INTERVAL_MS = 1_000;

export class FilePoller {
  #files = new Map<string, string>();
  #timer?: NodeJS.Timeout;
  #polling = false;

  constructor(
    /** Called once per poll that found a change; follow() then takes the new signatures. */
    private readonly onChange: (changed: string[]) => void,
  ) {}

  /** Follows exactly these files (path -> signature when read); none stops the timer. */
  follow(files: ReadonlyMap<string, string>): void {
    this.#files = new Map(files);
    if (this.#files.size === 0) this.close();
    else this.#timer ??= setInterval(() => void this.#poll(), POLL_INTERVAL_MS).unref();
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const files = this.#files;
      const changed: string[] = [];
      for (const [path, signature] of files) {
        const now = await currentFileSignature(path);
        if (now === signature) continue;
        // Told once: the next read follows it with the new signature.
        files.set(path, now);
        changed.push(path);
      }
      if (changed.length) this.onChange(changed);
    } finally {
      this.#polling = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
