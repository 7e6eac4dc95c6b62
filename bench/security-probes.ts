// What the security section asks of its two gateways besides load (bench/security.ts): one
// counted request (status, body, the backends' calls it caused), the checks an answer must
// pass before its gateway is measured, and the gateways' own request and refusal counters.
import { DEMO_BACKENDS, DEMO_HOST } from '../demo/backends/topology.js';
import { backendCalls, waitForQuietBackends } from './measure.js';
import { FAN_OUT_QUERY } from './queries.js';
import type { ResponseOutcomes, SecurityCheck, SecurityLabel } from './security-report.js';

export interface GatewaySpec {
  label: SecurityLabel;
  port: number;
  args: string[];
  headers: Record<string, string>;
}

export const backendAdminUrls = (): string[] => DEMO_BACKENDS.map((backend) => backend.adminUrl);
export const graphqlUrl = (spec: GatewaySpec): string => `http://${DEMO_HOST}:${spec.port}/graphql`;

async function totalCalls(): Promise<number> {
  const counts = await Promise.all(backendAdminUrls().map((url) => backendCalls(url, 'GET')));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** One POST with the backends' call counters reset first: status, parsed body, upstream calls. */
export async function postCounted(
  spec: GatewaySpec,
  headers: Record<string, string>,
): Promise<{
  status: number;
  body: { data?: unknown; errors?: unknown[]; extensions?: { cost?: unknown } } | undefined;
  text: string;
  upstreamCalls: number;
}> {
  await waitForQuietBackends(backendAdminUrls(), 200);
  await Promise.all(backendAdminUrls().map((url) => backendCalls(url, 'DELETE')));
  const response = await fetch(graphqlUrl(spec), {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: FAN_OUT_QUERY }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let body: { data?: unknown; errors?: unknown[]; extensions?: { cost?: unknown } } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, upstreamCalls: await totalCalls() };
}

/** The answer must be 200 with data and no errors; returns the data and what the check saw. */
export async function checkAnswer(spec: GatewaySpec): Promise<{ check: SecurityCheck; data?: unknown }> {
  try {
    const { status, body, text, upstreamCalls } = await postCounted(spec, spec.headers);
    if (status !== 200 || body?.data == null || (body.errors?.length ?? 0) > 0) {
      throw new Error(`answered ${status} with an unusable result: ${text.slice(0, 400)}`);
    }
    const cost = body.extensions?.cost;
    // Cost analysis runs only with a limit: "off" must carry no cost at all, "on" must.
    if (spec.label === 'off' && cost !== undefined)
      throw new Error('"off" answered with extensions.cost: cost analysis ran without a limit');
    if (spec.label === 'on') {
      if (cost === undefined) throw new Error('the response has no extensions.cost');
      const available = (cost as { throttleStatus?: { currentlyAvailable?: unknown } } | null)?.throttleStatus
        ?.currentlyAvailable;
      if (typeof available !== 'number') {
        throw new Error(
          `extensions.cost.throttleStatus.currentlyAvailable is not a number (the budget is off?): ${JSON.stringify(cost)}`,
        );
      }
    }
    return { check: { label: spec.label, upstreamCalls, cost }, data: body.data };
  } catch (error) {
    return {
      check: {
        label: spec.label,
        upstreamCalls: 0,
        cost: undefined,
        error: error instanceof Error ? error.message : String(error),
      },
    };
  }
}

/** Sums of the gateway's request and limit counters, from its /metrics. */
export async function readOutcomes(spec: GatewaySpec): Promise<ResponseOutcomes> {
  const response = await fetch(`http://${DEMO_HOST}:${spec.port}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`GET /metrics of ${spec.label} answered ${response.status}`);
  const text = await response.text();
  const sum = (pattern: RegExp): number => {
    let total = 0;
    for (const line of text.split('\n')) {
      if (pattern.test(line)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  };
  return {
    success: sum(/^quilt_graphql_requests_total\{.*outcome="success"/),
    error: sum(/^quilt_graphql_requests_total\{.*outcome="error"/),
    failed: sum(/^quilt_graphql_requests_total\{.*outcome="failed"/),
    limitRejections: sum(/^quilt_limit_rejections_total\{/),
  };
}

export const minus = (after: ResponseOutcomes, before: ResponseOutcomes): ResponseOutcomes => ({
  success: after.success - before.success,
  error: after.error - before.error,
  failed: after.failed - before.failed,
  limitRejections: after.limitRejections - before.limitRejections,
});

export interface BothChecked {
  checks: SecurityCheck[];
  /** Whether "on" and "off" answered the same data; undefined when either failed first. */
  sameData: boolean | undefined;
  badTokenStatus: number | undefined;
  badTokenUpstreamCalls: number | undefined;
}

/**
 * Before any load: both gateways answer, the same data with the same upstream calls, and
 * "on" (specs[1]) refuses a token signed with another secret before any upstream call.
 */
export async function checkBoth(
  specs: [GatewaySpec, GatewaySpec],
  badToken: string,
  log: (message: string) => void,
): Promise<BothChecked> {
  const answers: Array<{ check: SecurityCheck; data?: unknown }> = [];
  for (const spec of specs) answers.push(await checkAnswer(spec)); // one at a time: each counts the backends' calls
  const checks = answers.map((a) => a.check);
  const [off, on] = answers;
  let sameData: boolean | undefined;
  if (off!.check.error === undefined && on!.check.error === undefined) {
    sameData = JSON.stringify(off!.data) === JSON.stringify(on!.data);
    if (!sameData) on!.check.error = `answered other data than "off": ${JSON.stringify(on!.data).slice(0, 300)}`;
    else if (on!.check.upstreamCalls !== off!.check.upstreamCalls) {
      on!.check.error = `made ${on!.check.upstreamCalls} upstream calls, "off" ${off!.check.upstreamCalls}`;
    }
  }
  let badTokenStatus: number | undefined;
  let badTokenUpstreamCalls: number | undefined;
  if (on!.check.error === undefined) {
    const bad = await postCounted(specs[1], { authorization: `Bearer ${badToken}` });
    badTokenStatus = bad.status;
    badTokenUpstreamCalls = bad.upstreamCalls;
    if (bad.status !== 401)
      on!.check.error = `a token signed with another secret got HTTP ${bad.status}, expected 401: ${bad.text.slice(0, 300)}`;
    else if (bad.upstreamCalls !== 0)
      on!.check.error = `a request with a bad token made ${bad.upstreamCalls} upstream calls`;
  }
  for (const check of checks) {
    log(
      check.error === undefined
        ? `security / ${check.label}: ${check.upstreamCalls} upstream call(s)/query, extensions.cost ${JSON.stringify(check.cost)}`
        : `security / ${check.label}: check failed, skipping its load runs: ${check.error}`,
    );
  }
  if (badTokenStatus !== undefined)
    log(`security / on: bad token -> HTTP ${badTokenStatus}, ${badTokenUpstreamCalls} upstream calls`);
  return { checks, sameData, badTokenStatus, badTokenUpstreamCalls };
}
