#!/usr/bin/env node
// The `quilt` command. Runs the compiled build when present (npm run build), else the
// TypeScript sources through tsx, so a checkout works without a build step.
import { existsSync } from 'node:fs';

// A production process unless told otherwise: graphql-js then skips its development-mode
// checks (its instanceOf compares class names on every failed check: 3.3% of the gateway's
// CPU in bench:profile of the batched query). Set before graphql is loaded (below).
process.env.NODE_ENV ??= 'production';

import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
let main;
if (existsSync(built)) {
  ({ main } = await import(built));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exit(await main(process.argv.slice(2)));
