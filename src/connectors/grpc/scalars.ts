// Protobuf scalar values on the way in (JSON from a request template -> what protobufjs'
// fromObject accepts) and their proto3 defaults, plus map keys both ways. 64-bit integers
// stay decimal strings from end to end and are checked with BigInt, never Number.
import { describe, FieldValueError } from './well-known-types.js';

/**
 * A value as proto-loader hands it over or takes it: untyped by nature, since each converter is
 * generated at load time for one message or scalar type and knows its shape.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; every use is inside a generated converter.
export type ProtoValue = any;

type Convert = (value: ProtoValue) => unknown;

const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);
const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);

const RANGES = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
} as const;

export function scalarDefault(protoType: string): unknown {
  if (INT64.has(protoType) || UINT64.has(protoType)) return '0';
  if (protoType === 'string' || protoType === 'bytes') return '';
  if (protoType === 'bool') return false;
  return 0;
}

/** An integer of the given range from a number or a decimal string, as a BigInt. */
function toInteger(v: unknown, range: keyof typeof RANGES): bigint {
  let n: bigint | undefined;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) n = BigInt(v.trim());
  const [min, max] = RANGES[range];
  if (n === undefined)
    throw new FieldValueError(
      `expected ${range === 'int64' || range === 'uint64' ? 'a 64-bit integer (number or decimal string)' : 'an integer'}, got ${describe(v)}`,
    );
  if (n < min || n > max) throw new FieldValueError(`${describe(v)} is out of range for ${range}`);
  return n;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function scalarEncoder(protoType: string): Convert {
  if (INT64.has(protoType)) return (v) => toInteger(v, 'int64').toString();
  if (UINT64.has(protoType)) return (v) => toInteger(v, 'uint64').toString();
  if (INT32.has(protoType)) return (v) => Number(toInteger(v, 'int32'));
  if (UINT32.has(protoType)) return (v) => Number(toInteger(v, 'uint32'));
  switch (protoType) {
    case 'double':
    case 'float':
      return (v) => {
        const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
        if (typeof n !== 'number' || (Number.isNaN(n) && v !== 'NaN'))
          throw new FieldValueError(`expected a number, got ${describe(v)}`);
        return n;
      };
    case 'bool':
      return (v) => {
        if (typeof v === 'boolean') return v;
        if (v === 'true' || v === 'false') return v === 'true'; // a placeholder inside text renders as text
        throw new FieldValueError(`expected a boolean, got ${describe(v)}`);
      };
    case 'string':
      return (v) => {
        if (typeof v === 'string') return v;
        if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
        throw new FieldValueError(`expected a string, got ${describe(v)}`);
      };
    case 'bytes':
      return (v) => {
        if (v instanceof Uint8Array) return v;
        if (typeof v === 'string' && BASE64.test(v)) return v;
        throw new FieldValueError(`expected base64 bytes, got ${describe(v)}`);
      };
    default:
      throw new Error(`unknown protobuf scalar type "${protoType}"`);
  }
}

/**
 * protobufjs delivers a 64-bit map key as its 8-byte "long hash" (the two 32-bit halves as
 * char codes, low half first) rather than a number, since `longs: String` does not reach
 * map keys. `long` is a dependency of protobufjs, so the key is always that hash.
 */
export function decodeMapKey(keyType: string): (key: string) => string {
  const signed = INT64.has(keyType);
  if (!signed && !UINT64.has(keyType)) return (key) => key;
  return (key) => {
    if (key.length !== 8) return key; // already decimal (protobufjs without `long`)
    let bits = 0n;
    for (let i = 7; i >= 0; i--) bits = (bits << 8n) | BigInt(key.charCodeAt(i));
    return (signed ? BigInt.asIntN(64, bits) : bits).toString();
  };
}

/** A JSON object key -> the key protobufjs' fromObject and encoder accept for `keyType`. */
export function encodeMapKey(keyType: string): (key: string) => string {
  if (INT64.has(keyType)) return (key) => toInteger(key, 'int64').toString();
  if (UINT64.has(keyType)) return (key) => toInteger(key, 'uint64').toString();
  if (INT32.has(keyType)) return (key) => toInteger(key, 'int32').toString();
  if (UINT32.has(keyType)) return (key) => toInteger(key, 'uint32').toString();
  if (keyType === 'bool') {
    return (key) => {
      if (key !== 'true' && key !== 'false') throw new FieldValueError(`map key ${describe(key)} is not true or false`);
      // protobufjs writes a bool key with `key ? 1 : 0` on the string key, so "false" would
      // be sent as true; the empty string is the falsy key that encodes as false.
      return key === 'true' ? 'true' : '';
    };
  }
  return (key) => key;
}
