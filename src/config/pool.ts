// The pool settings of @upstream (balance, health, outlierDetection, retries, timeouts,
// maxInFlight, slowStartMs), read and checked. Every message names the setting, what it
// expects and what it received; the directive's SDL already checked the types.
import type { DirectiveNode } from 'graphql';
import type { BalanceAlgorithm, OutlierSettings, PoolSettings } from '../upstream/types.js';
import type { ProblemList } from './problems.js';

interface RawPool {
  balance?: {
    algorithm: BalanceAlgorithm;
    hashOn?: string | null;
    stickyOn?: string | null;
    stickyTtlMs: number;
    stickyMaxClients: number;
  } | null;
  health?: {
    path: string;
    service: string;
    intervalMs: number;
    timeoutMs: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
  } | null;
  outlierDetection?: OutlierSettings | null;
  retryBudget?: { percent: number; minPerSecond: number } | null;
  timeoutMs: number;
  tryTimeoutMs?: number | null;
  retries: number;
  maxInFlight: number;
  slowStartMs: number;
}

// Defaults of the input objects when the argument is left out entirely (the SDL supplies
// them field by field when it is given).
export const OUTLIER_DEFAULTS: Readonly<OutlierSettings> = {
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
  intervalMs: 10_000,
  successRateMinimumHosts: 3,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1.9,
  failurePercentageThreshold: 50,
  failurePercentageMinimumHosts: 2,
  failurePercentageRequestVolume: 20,
};
const BUDGET_DEFAULTS = { percent: 20, minPerSecond: 10 };
const STICKY_DEFAULTS = { stickyTtlMs: 600_000, stickyMaxClients: 10_000 };

const HASH_ON = /^(ip|url|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+|claim:[A-Za-z0-9_.:-]+)$/;
const STICKY_ON = /^(header|cookie):[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export function readPoolSettings(
  values: Record<string, unknown>,
  node: DirectiveNode,
  file: string,
  problems: ProblemList,
): PoolSettings | undefined {
  const raw = values as unknown as RawPool;
  const at = (argName: string) => node.arguments?.find((a) => a.name.value === argName) ?? node;
  const before = problems.items.length;
  const check = (ok: boolean, arg: string, setting: string, expected: string, received: unknown) => {
    if (!ok)
      problems.at(at(arg), file, `@upstream(${setting}) expected ${expected}; received ${JSON.stringify(received)}`);
  };
  const atLeast = (arg: string, setting: string, value: number, min: number) =>
    check(value >= min, arg, setting, `an integer of ${min} or more`, value);

  const balance = {
    algorithm: 'ROUND_ROBIN' as BalanceAlgorithm,
    ...STICKY_DEFAULTS,
    ...raw.balance,
    hashOn: raw.balance?.hashOn ?? undefined,
    stickyOn: raw.balance?.stickyOn ?? undefined,
  };
  if (balance.algorithm === 'HASH') {
    check(
      balance.hashOn !== undefined && HASH_ON.test(balance.hashOn),
      'balance',
      'balance.hashOn',
      'ip, url, header:NAME or claim:NAME (HASH needs it)',
      balance.hashOn ?? null,
    );
  } else if (balance.hashOn !== undefined) {
    check(false, 'balance', 'balance.hashOn', 'no hashOn unless algorithm is HASH', balance.hashOn);
  }
  if (balance.stickyOn !== undefined) {
    check(
      balance.algorithm === 'STICKY',
      'balance',
      'balance.stickyOn',
      'no stickyOn unless algorithm is STICKY',
      balance.stickyOn,
    );
    check(
      STICKY_ON.test(balance.stickyOn),
      'balance',
      'balance.stickyOn',
      'header:NAME or cookie:NAME',
      balance.stickyOn,
    );
  }
  atLeast('balance', 'balance.stickyTtlMs', balance.stickyTtlMs, 1);
  atLeast('balance', 'balance.stickyMaxClients', balance.stickyMaxClients, 1);

  const health = raw.health ?? undefined;
  if (health) {
    check(health.path.startsWith('/'), 'health', 'health.path', 'a path starting with "/"', health.path);
    atLeast('health', 'health.intervalMs', health.intervalMs, 100);
    atLeast('health', 'health.timeoutMs', health.timeoutMs, 1);
    atLeast('health', 'health.healthyThreshold', health.healthyThreshold, 1);
    atLeast('health', 'health.unhealthyThreshold', health.unhealthyThreshold, 1);
  }
  const outlier = { ...OUTLIER_DEFAULTS, ...raw.outlierDetection };
  atLeast('outlierDetection', 'outlierDetection.consecutiveFailures', outlier.consecutiveFailures, 1);
  atLeast('outlierDetection', 'outlierDetection.baseEjectionMs', outlier.baseEjectionMs, 1);
  check(
    outlier.maxEjectionMs >= outlier.baseEjectionMs,
    'outlierDetection',
    'outlierDetection.maxEjectionMs',
    `at least baseEjectionMs (${outlier.baseEjectionMs})`,
    outlier.maxEjectionMs,
  );
  check(
    outlier.maxEjectionPercent >= 0 && outlier.maxEjectionPercent <= 100,
    'outlierDetection',
    'outlierDetection.maxEjectionPercent',
    'a percent from 0 to 100',
    outlier.maxEjectionPercent,
  );
  atLeast('outlierDetection', 'outlierDetection.intervalMs', outlier.intervalMs, 100);
  atLeast('outlierDetection', 'outlierDetection.successRateMinimumHosts', outlier.successRateMinimumHosts, 2);
  atLeast('outlierDetection', 'outlierDetection.successRateRequestVolume', outlier.successRateRequestVolume, 1);
  check(
    outlier.successRateStdevFactor >= 0,
    'outlierDetection',
    'outlierDetection.successRateStdevFactor',
    'a number of 0 or more',
    outlier.successRateStdevFactor,
  );
  check(
    outlier.failurePercentageThreshold >= 0 && outlier.failurePercentageThreshold <= 100,
    'outlierDetection',
    'outlierDetection.failurePercentageThreshold',
    'a percent from 0 (off) to 100',
    outlier.failurePercentageThreshold,
  );
  atLeast(
    'outlierDetection',
    'outlierDetection.failurePercentageMinimumHosts',
    outlier.failurePercentageMinimumHosts,
    1,
  );
  atLeast(
    'outlierDetection',
    'outlierDetection.failurePercentageRequestVolume',
    outlier.failurePercentageRequestVolume,
    1,
  );

  const budget = { ...BUDGET_DEFAULTS, ...raw.retryBudget };
  check(
    budget.percent >= 0 && budget.percent <= 100,
    'retryBudget',
    'retryBudget.percent',
    'a percent from 0 to 100',
    budget.percent,
  );
  atLeast('retryBudget', 'retryBudget.minPerSecond', budget.minPerSecond, 0);
  atLeast('retries', 'retries', raw.retries, 0);
  atLeast('timeoutMs', 'timeoutMs', raw.timeoutMs, 1);
  const tryTimeoutMs = raw.tryTimeoutMs ?? undefined;
  if (tryTimeoutMs !== undefined)
    check(
      tryTimeoutMs >= 1 && tryTimeoutMs <= raw.timeoutMs,
      'tryTimeoutMs',
      'tryTimeoutMs',
      `an integer from 1 to timeoutMs (${raw.timeoutMs})`,
      tryTimeoutMs,
    );
  atLeast('maxInFlight', 'maxInFlight', raw.maxInFlight, 1);
  atLeast('slowStartMs', 'slowStartMs', raw.slowStartMs, 0);
  if (problems.items.length > before) return undefined;
  return {
    balance,
    health,
    outlier,
    retry: { retries: raw.retries, budgetPercent: budget.percent, budgetMinPerSecond: budget.minPerSecond },
    timeoutMs: raw.timeoutMs,
    tryTimeoutMs,
    maxInFlight: raw.maxInFlight,
    slowStartMs: raw.slowStartMs,
  };
}
