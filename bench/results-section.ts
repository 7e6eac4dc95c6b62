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
