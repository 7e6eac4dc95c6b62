// The main section measures both targets as they run in production: compiled JavaScript,
// started by plain `node`, with no TypeScript loader. tsx compiles each module as it is
// loaded and keeps the result: on the gateway's ~250 modules that is about 45 MB of resident
// memory (idle RSS 168 MB through tsx, 120 MB compiled; bench/RESULTS.md, "Memory") that the
// image the README's "Deployment" builds never has, against a few MB for the one-file
// baseline. Compiling both keeps the RSS bar about the programs, not the loader.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../demo/backends/topology.js';

export const BUILD_DIR = join(REPO_ROOT, '.tmp', 'bench-build');

export interface BuiltTargets {
  /** The gateway's CLI, compiled from src/ with tsconfig.build.json (as the Dockerfile does). */
  gateway: string;
  /** bench/baseline.ts compiled with the project's compiler settings. */
  baseline: string;
}

export function buildTargets(log: (message: string) => void): BuiltTargets {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const tsc = (args: string[]) => execFileSync('npx', ['tsc', ...args], { cwd: REPO_ROOT, stdio: 'inherit' });
  log('compiling the gateway and the baseline to JavaScript (.tmp/bench-build)');
  tsc(['-p', 'tsconfig.build.json', '--outDir', join(BUILD_DIR, 'gateway')]);
  const baselineDir = join(BUILD_DIR, 'baseline');
  tsc([
    ...['--outDir', baselineDir, '--rootDir', REPO_ROOT, '--target', 'ES2022', '--module', 'NodeNext'],
    ...['--moduleResolution', 'NodeNext', '--strict', '--esModuleInterop', '--skipLibCheck', '--types', 'node'],
    join(REPO_ROOT, 'bench', 'baseline.ts'),
  ]);
  // The baseline reads schemas/orders.proto from what it takes for the repository root.
  mkdirSync(baselineDir, { recursive: true });
  if (!existsSync(join(baselineDir, 'schemas'))) symlinkSync(join(REPO_ROOT, 'schemas'), join(baselineDir, 'schemas'));
  return {
    gateway: join(BUILD_DIR, 'gateway', 'src', 'cli', 'main.js'),
    baseline: join(baselineDir, 'bench', 'baseline.js'),
  };
}
