// bench/RESULTS.md is written by several scripts: each owns one "## " section and replaces
// only it (or appends it), leaving the others as their last runs wrote them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../demo/backends/topology.js';

const RESULTS = join(REPO_ROOT, 'bench/RESULTS.md');

/** `section` starts with its "## Title" line; the section of that title is replaced. */
export function writeResultsSection(section: string): void {
  const heading = section.slice(0, section.indexOf('\n'));
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '';
  const start = current.indexOf(`${heading}\n`);
  const next = start >= 0 ? current.indexOf('\n## ', start + 1) : -1;
  const updated =
    start < 0
      ? `${current.trimEnd()}\n\n${section}`
      : `${current.slice(0, start)}${section.trimEnd()}\n${next >= 0 ? current.slice(next) : ''}`;
  writeFileSync(RESULTS, `${updated.trimEnd()}\n`);
}

/** Sections that scripts other than `npm run bench` write (bench:soak, bench:workers, by hand: the profile). */
const SEPARATELY_WRITTEN = ['## Soak', '## Workers', '## Profile'];

/**
 * `text` without the sections other scripts own, and those sections: `npm run bench` merges
 * its own parts into the rest and appends them again, so a full run keeps them.
 */
export function splitOffSeparateSections(text: string): { rest: string; separate: string[] } {
  let rest = text;
  const separate: string[] = [];
  for (const heading of SEPARATELY_WRITTEN) {
    const start = rest.search(new RegExp(`^${heading.replace(/[()]/g, '\\$&')}\\b`, 'm'));
    if (start < 0) continue;
    const next = rest.indexOf('\n## ', start + 1);
    separate.push(rest.slice(start, next >= 0 ? next : undefined).trimEnd());
    rest = rest.slice(0, start) + (next >= 0 ? rest.slice(next + 1) : '');
  }
  return { rest, separate };
}
