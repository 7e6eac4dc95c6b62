// `npm run import:demo-openapi`: regenerates schemas/reviews.graphql from the reviews
// service's OpenAPI document as README "Add a REST backend from OpenAPI" does it: the real
// `quilt import openapi` CLI, then the part added by hand (demo/openapi/reviews.additions.graphql)
// appended after a blank line. test/demo/openapi-demo.test.ts fails when the file in schemas/
// and this output drift apart.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainModule } from '../demo/backends/http-service.js';
import { REPO_ROOT } from '../demo/backends/topology.js';

export const REVIEWS_DOCUMENT = 'demo/openapi/reviews.yaml';
export const REVIEWS_ADDITIONS = 'demo/openapi/reviews.additions.graphql';
export const REVIEWS_SCHEMA = 'schemas/reviews.graphql';

export interface ImportedReviews {
  /** The CLI's output, as it wrote it. */
  generated: string;
  /** What schemas/reviews.graphql holds: the output, a blank line, the part added by hand. */
  text: string;
  /** The CLI's stderr (what it left out, the summary). */
  stderr: string;
}

/** Runs `quilt import openapi demo/openapi/reviews.yaml` into a temporary file, from the repository root. */
export async function importReviews(): Promise<ImportedReviews> {
  const dir = mkdtempSync(join(tmpdir(), 'quilt-reviews-import-'));
  try {
    const out = join(dir, 'reviews.graphql');
    const stderr = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [join(REPO_ROOT, 'bin/quilt.js'), 'import', 'openapi', REVIEWS_DOCUMENT, '--out', out],
        { cwd: REPO_ROOT },
        (error, _stdout, stderrText) =>
          error
            ? reject(new Error(`quilt import openapi failed (${error.code}):\n${stderrText}`))
            : resolve(stderrText),
      );
    });
    const generated = readFileSync(out, 'utf8');
    const additions = readFileSync(join(REPO_ROOT, REVIEWS_ADDITIONS), 'utf8');
    return { generated, text: `${generated}\n${additions}`, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) {
  try {
    const { text, stderr } = await importReviews();
    process.stderr.write(stderr);
    writeFileSync(join(REPO_ROOT, REVIEWS_SCHEMA), text);
    console.log(`wrote ${REVIEWS_SCHEMA}: the import of ${REVIEWS_DOCUMENT} and ${REVIEWS_ADDITIONS}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
