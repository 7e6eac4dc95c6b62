// google.protobuf well-known types <-> JSON, as in the proto3 JSON mapping: Timestamp as an
// RFC 3339 string, Duration as "1.500s", wrappers as their bare (nullable) scalar, Struct,
// Value and ListValue as plain JSON, Empty as {}. Messages arrive as grpc-js hands them over
// with Quilt's proto-loader options (longs and enums as strings, bytes as base64).

/** Thrown by a converter on bad input; the encoder adds the field path and makes it BAD_USER_INPUT. */
export class FieldValueError extends Error {
  readonly path: string[] = [];
  constructor(reason: string) {
    super(reason);
    this.name = 'FieldValueError';
  }
}

// 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, the range google.protobuf.Timestamp allows.
const MIN_TIMESTAMP_SECONDS = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;
const MAX_DURATION_SECONDS = 315_576_000_000n;

interface SecondsNanos {
  seconds?: string | number | null;
  nanos?: number | null;
}

/** 0, 3, 6 or 9 fractional digits, the fewest that keep every nanosecond (proto3 JSON). */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `.${digits.slice(0, 3)}`;
  if (nanos % 1_000 === 0) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

export function timestampToJson(m: SecondsNanos | null | undefined): string | null {
  if (m == null) return null;
  let seconds = Number(m.seconds ?? 0);
  let nanos = m.nanos ?? 0;
  if (nanos < 0) {
    // Not valid on the wire, but normalise rather than print a negative fraction.
    seconds -= 1;
    nanos += 1_000_000_000;
  }
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export function timestampFromJson(value: unknown): { seconds: string; nanos: number } {
  if (value instanceof Date) value = value.toISOString();
  if (typeof value !== 'string')
    throw new FieldValueError(`expected an RFC 3339 timestamp string, got ${describe(value)}`);
  const m = RFC3339.exec(value);
  if (!m)
    throw new FieldValueError(
      `expected an RFC 3339 timestamp such as "2024-05-01T12:00:00.123Z", got ${describe(value)}`,
    );
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  // setUTCFullYear, unlike Date.UTC, does not turn years 0-99 into 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new FieldValueError(`${describe(value)} is not a valid date and time`);
  }
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11]) * 60);
  const seconds = date.getTime() / 1000 - offset;
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new FieldValueError(`${describe(value)} is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z`);
  }
  return { seconds: String(seconds), nanos: Number((m[7] ?? '').padEnd(9, '0')) };
}

export function durationToJson(m: SecondsNanos | null | undefined): string | null {
  if (m == null) return null;
  const seconds = BigInt(m.seconds ?? 0);
  const nanos = m.nanos ?? 0;
  // Seconds and nanos carry the same sign; -0.5s has seconds 0 and nanos -500000000.
  const negative = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  // ISO-8601 in seconds only ("PT90.5S"), as java.time.Duration and most parsers read it.
  return `${negative ? '-' : ''}PT${abs}${fraction(Math.abs(nanos))}S`;
}

const ISO_DURATION = /^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,9}))?S)?)?$/;

/** ISO-8601 ("PT1.5S", "P1DT2H") or the proto3 JSON form ("1.5s"). */
export function durationFromJson(value: unknown): { seconds: string; nanos: number } {
  const text = typeof value === 'string' ? value : '';
  const proto = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  const iso = proto ? null : ISO_DURATION.exec(text);
  if (!proto && (!iso || text.endsWith('T') || text === 'P' || text === '-P')) {
    throw new FieldValueError(`expected an ISO-8601 duration such as "PT1.5S", got ${describe(value)}`);
  }
  const sign = (proto ?? iso)![1] ? -1 : 1;
  const seconds = proto
    ? BigInt(proto[2])
    : BigInt(iso![2] ?? 0) * 86400n + BigInt(iso![3] ?? 0) * 3600n + BigInt(iso![4] ?? 0) * 60n + BigInt(iso![5] ?? 0);
  if (seconds > MAX_DURATION_SECONDS) throw new FieldValueError(`${describe(value)} is longer than 10000 years`);
  const nanos = Number(((proto ? proto[3] : iso![6]) ?? '').padEnd(9, '0'));
  return { seconds: String(sign < 0 ? -seconds : seconds), nanos: nanos === 0 ? 0 : sign * nanos };
}

// google.protobuf.Value is a oneof named `kind`; proto-loader's `oneofs: true` names the set member.
interface ValueMessage {
  kind?: string;
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage | null;
  listValue?: ListMessage | null;
}
interface StructMessage {
  fields?: Record<string, ValueMessage>;
}
interface ListMessage {
  values?: ValueMessage[];
}

export function valueToJson(m: ValueMessage | null | undefined): unknown {
  if (m == null) return null;
  switch (m.kind) {
    case 'numberValue':
      return m.numberValue;
    case 'stringValue':
      return m.stringValue;
    case 'boolValue':
      return m.boolValue;
    case 'structValue':
      return structToJson(m.structValue);
    case 'listValue':
      return listToJson(m.listValue);
    default:
      return null; // nullValue, or no kind set
  }
}

export function structToJson(m: StructMessage | null | undefined): Record<string, unknown> | null {
  if (m == null) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

export function listToJson(m: ListMessage | null | undefined): unknown[] | null {
  if (m == null) return null;
  return (m.values ?? []).map(valueToJson);
}

export function valueFromJson(v: unknown): ValueMessage {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof v) {
    case 'number':
      return { numberValue: v };
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'object':
      return Array.isArray(v) ? { listValue: listFromJson(v) } : { structValue: structFromJson(v) };
    default:
      throw new FieldValueError(`${typeof v} has no JSON form`);
  }
}

export function structFromJson(v: unknown): StructMessage {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new FieldValueError(`expected a JSON object, got ${describe(v)}`);
  const fields: Record<string, ValueMessage> = {};
  for (const [k, item] of Object.entries(v)) if (item !== undefined) fields[k] = valueFromJson(item);
  return { fields };
}

export function listFromJson(v: unknown): ListMessage {
  if (!Array.isArray(v)) throw new FieldValueError(`expected a JSON array, got ${describe(v)}`);
  return { values: v.map(valueFromJson) };
}

/** A short, safe rendering of a bad input value for an error message. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return Array.isArray(v) ? 'a list' : 'an object';
  return String(v);
}
