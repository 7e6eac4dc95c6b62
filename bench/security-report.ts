// The security section's results (bench/security.ts) as markdown, and where that section
// sits in bench/RESULTS.md: from SECURITY_HEADING to the end of the file, after the main
// report and the pool section (bench/pool-report.ts), so `BENCH_ONLY=security` rewrites
// only it and the other switches leave it as it is.
import type { LoadResult } from './measure.js';
import { mergeResults } from './pool-report.js';

/** The bar (README, "Benchmarks"): "on" keeps at least this share of "off"'s req/s. */
export const SECURITY_MIN_RATIO = 0.9;

export const SECURITY_HEADING = '## Security overhead';

export type SecurityLabel = 'off' | 'on';

export interface SecurityMeasurement extends LoadResult {
  label: SecurityLabel;
  peakRssMb: number | undefined; // the highest of the rounds
  /** Gateway CPU time (all threads) per answered request, median of the rounds (not a bar). */
  cpuMsPerRequest: number | undefined;
}

/** What the checks before the load found, per configuration. */
export interface SecurityCheck {
  label: SecurityLabel;
  upstreamCalls: number; // of the checked request (the backends' /__calls counters)
  cost: unknown; // extensions.cost of the checked response, shown as is
  error?: string; // set when a check failed (no load was run)
}

/** The gateway's own count of GraphQL responses over the warm-up and the measured rounds. */
export interface ResponseOutcomes {
  success: number;
  error: number; // data with errors (e.g. a field refused by @rateLimit)
  failed: number; // no data, or an HTTP status >= 400 (e.g. 429 out of budget)
  limitRejections: number; // quilt_limit_rejections_total, every reason
}

export interface SecurityResults {
  date: string;
  durationSeconds: number;
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
  pinning: string;
  query: string;
  /** The "on" gateway's flags, secrets shown by name. */
  onFlags: string;
  rateLimitDirective: string;
  checks: SecurityCheck[];
  sameData: boolean | undefined; // undefined: a check failed before the comparison
  badTokenStatus: number | undefined;
  badTokenUpstreamCalls: number | undefined;
  rows: SecurityMeasurement[]; // off, on: each its median round by req/s
  /** Per round, in round order: on req/s / off req/s. */
  roundRatios: number[];
  ratio: number | undefined; // median of roundRatios
  /** Median of the rounds' on/off gateway CPU ms per request (not a bar: what the checks cost). */
  cpuRatio: number | undefined;
  outcomes: Partial<Record<SecurityLabel, ResponseOutcomes>>;
}

const bar = (passed: boolean): string => (passed ? 'PASS' : 'FAIL');
const tableCell = (text: string): string => text.replace(/\s+/g, ' ').replaceAll('|', '\\|').slice(0, 300);
const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

/** Why the section's checks failed, if they did: what makes `npm run bench` exit non-zero. */
export function securityProblems(results: SecurityResults): string[] {
  const problems = results.checks
    .filter((c) => c.error !== undefined)
    .map((c) => `security / ${c.label} failed its check: ${c.error}`);
  for (const [label, outcome] of Object.entries(results.outcomes)) {
    if (outcome && (outcome.error > 0 || outcome.failed > 0 || outcome.limitRejections > 0)) {
      problems.push(
        `security / ${label}: ${outcome.error} response(s) with errors, ${outcome.failed} failed, ` +
          `${outcome.limitRejections} limit rejection(s) under load (the limits must not reject in this bench)`,
      );
    }
  }
  return problems;
}

/** The bar: the ratio clears the minimum, every check passed and no request failed or was refused. */
export function securityBarPassed(results: SecurityResults): boolean {
  return (
    results.ratio !== undefined &&
    results.ratio >= SECURITY_MIN_RATIO &&
    securityProblems(results).length === 0 &&
    results.rows.every((m) => m.failures === 0)
  );
}

function outcomeText(outcome: ResponseOutcomes | undefined): string {
  if (!outcome) return 'n/a';
  return `${outcome.success} ok, ${outcome.error} with errors, ${outcome.failed} failed; ${outcome.limitRejections} limit rejections`;
}

export function renderSecuritySection(results: SecurityResults): string {
  const passed = securityBarPassed(results);
  const check = (label: SecurityLabel): SecurityCheck | undefined => results.checks.find((c) => c.label === label);
  const lines: string[] = [
    `${SECURITY_HEADING} (auth, cost analysis and @rateLimit on the fan-out)`,
    '',
    `- date: ${results.date}; the section took ${results.durationSeconds} s`,
    `- BENCH_SECONDS: ${results.seconds} per configuration and round; BENCH_ROUNDS: ${results.rounds} (configurations ` +
      `alternate; each row is the configuration's median round by req/s, peak RSS the highest of its rounds); ` +
      `${results.warmupSeconds} s warm-up per configuration (BENCH_WARMUP_SECONDS); ${results.connections} connections; ` +
      `POST /graphql \`${results.query}\``,
    `- CPU layout: ${results.pinning}; the gateways compiled to JavaScript and run by node with NODE_ENV=production, as the image runs them`,
    '- Two gateway processes over the same demo backends as the main section:',
    '  - off: `quilt serve --schemas schemas`, as the main section runs it (no token, no budget, no limit: no ' +
      'cost analysis and no `extensions.cost`);',
    `  - on: \`quilt serve ${results.onFlags}\` over a copy of schemas/ generated at bench time where \`Query.users\` ` +
      `also carries \`${results.rateLimitDirective}\`; every request sends \`Authorization: Bearer <token>\` ` +
      '(jose, HS256, the demo secret, iss quilt-demo, sub bench, exp 1 h), so each one is verified, costed, taken from ' +
      'and refunded to the `sub:bench` budget, and counted in the `users` rate-limit window.',
    '',
    'Checks before the load:',
    '',
    `- same data from both, no errors: ${results.sameData === undefined ? 'n/a' : results.sameData ? 'yes' : 'NO'}`,
    `- upstream calls per query: off ${check('off')?.upstreamCalls ?? 'n/a'}, on ${check('on')?.upstreamCalls ?? 'n/a'}`,
    `- "on" with a token signed by another secret: HTTP ${results.badTokenStatus ?? 'n/a'} ` +
      `(expected 401), ${results.badTokenUpstreamCalls ?? 'n/a'} upstream calls`,
    `- "on" extensions.cost: \`${JSON.stringify(check('on')?.cost ?? null)}\``,
    `- "off" extensions.cost: \`${JSON.stringify(check('off')?.cost ?? null)}\``,
  ];
  for (const c of results.checks.filter((x) => x.error !== undefined))
    lines.push(`- ${c.label} FAILED: ${tableCell(c.error!)}`);
  lines.push(
    '',
    `The req/s ratio is the median of the rounds' on/off ratios (both measured back to back in each round). ` +
      `Bar: on >= ${SECURITY_MIN_RATIO}x off, every check above passed, and no request failed or was refused ` +
      "(the gateways' own `quilt_graphql_requests_total` and `quilt_limit_rejections_total` over the warm-up and all rounds).",
    '',
    '| configuration | req/s | p50 ms | p99 ms | peak RSS MB | gateway CPU ms/request | responses under load (gateway metrics) | req/s ratio to off | bar |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |',
  );
  for (const label of ['off', 'on'] as const) {
    const m = results.rows.find((x) => x.label === label);
    const failed = check(label)?.error;
    const ratio = label === 'on' ? (results.ratio === undefined ? 'n/a' : `${results.ratio.toFixed(2)}x`) : '';
    const verdict = label === 'on' ? `**${bar(passed)}**` : '';
    if (!m || failed !== undefined) {
      lines.push(row([label, `failed: ${tableCell(failed ?? 'not measured')}`, '', '', '', '', '', ratio, verdict]));
      continue;
    }
    lines.push(
      row([
        label,
        m.requestsPerSecond.toFixed(0) + (m.failures > 0 ? ` (${m.failures} failed)` : ''),
        String(m.p50Ms),
        String(m.p99Ms),
        m.peakRssMb === undefined ? 'n/a' : m.peakRssMb.toFixed(1),
        m.cpuMsPerRequest === undefined ? 'n/a' : m.cpuMsPerRequest.toFixed(2),
        outcomeText(results.outcomes[label]),
        ratio,
        verdict,
      ]),
    );
  }
  if (results.roundRatios.length > 0) {
    lines.push('', `Per-round on/off req/s ratios: ${results.roundRatios.map((r) => `${r.toFixed(2)}x`).join(', ')}.`);
  }
  if (results.cpuRatio !== undefined) {
    lines.push(
      '',
      `Gateway CPU per request, on/off (median of the rounds' ratios; not a bar): ${results.cpuRatio.toFixed(2)}x. ` +
        "It is the gateway process's user + system time (/proc/PID/stat, every thread) from the start of a run until " +
        'its last request is answered, over the requests its own counter answered in that span: what the checks cost ' +
        'per request, much less sensitive than req/s to other work on a shared machine.',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * bench/RESULTS.md with any of its parts replaced: the main report and the pool section
 * as pool-report.ts's mergeResults splits them, then the security section from
 * SECURITY_HEADING to the end. A part not given keeps what `existing` has.
 */
export function mergeAllResults(existing: string, parts: { main?: string; pool?: string; security?: string }): string {
  const at = existing.search(new RegExp(`^${SECURITY_HEADING}`, 'm'));
  const rest = at >= 0 ? existing.slice(0, at) : existing;
  const oldSecurity = at >= 0 ? existing.slice(at) : '';
  const kept = [mergeResults(rest, { main: parts.main, pool: parts.pool }), parts.security ?? oldSecurity]
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return `${kept.join('\n\n')}\n`;
}
