// JSON <-> protobuf messages, compiled once per message type into closures, so a call runs
// straight-line conversions instead of walking descriptors. The mapping (README, "gRPC"):
// 64-bit integers as decimal strings (never Number: 2^53+1 must survive), enums by name,
// bytes as base64, well-known types as in the proto3 JSON mapping but Duration as ISO-8601
// ("PT1.5S", README "gRPC mapping") (well-known-types.ts),
// maps as JSON objects, a oneof as its set member plus the oneof's name holding that
// member's name, proto3 `optional` and wrappers as null when unset, other unset proto3
// scalars as their default (0, "", false, first enum value).
import { badUserInput, type QuiltError } from '../../errors.js';
import { type GrpcServiceInfo, isWrapperType, type ProtoField } from './proto.js';
import { decodeMapKey, encodeMapKey, type ProtoValue, scalarDefault, scalarEncoder } from './scalars.js';
import {
  describe,
  durationFromJson,
  durationToJson,
  FieldValueError,
  listFromJson,
  listToJson,
  structFromJson,
  structToJson,
  timestampFromJson,
  timestampToJson,
  valueFromJson,
  valueToJson,
} from './well-known-types.js';

type Convert = (value: ProtoValue) => unknown;

export function compileDecoder(info: GrpcServiceInfo, typeName: string): (message: ProtoValue) => unknown {
  const decode = compilerFor(info).decoder(typeName.replace(/^\./, ''));
  // A reply is always a message; grpc-js never hands over null for it.
  return (message) => decode(message ?? {});
}

export function compileEncoder(info: GrpcServiceInfo, typeName: string): (json: ProtoValue) => unknown {
  const encode = compilerFor(info).encoder(typeName.replace(/^\./, ''));
  return (json) => {
    try {
      return encode(json ?? {}) ?? {};
    } catch (e) {
      throw e instanceof FieldValueError ? requestFieldError(e) : e;
    }
  };
}

/**
 * The lowerCamelCase name proto3 JSON gives a field ("user_ids" -> "userIds"). A request
 * template may use it or the .proto name; replies always carry the .proto name.
 */
export function jsonName(protoName: string): string {
  return protoName.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

function requestFieldError(e: FieldValueError): QuiltError {
  const where = e.path.length ? ` field "${e.path.join('.')}"` : '';
  return badUserInput(`Invalid gRPC request${where}: ${e.message}`);
}

// Compiled converters are shared by every method of one loaded service (recursive and
// shared message types compile once); a reload loads a new GrpcServiceInfo, so nothing stale.
const compilers = new WeakMap<GrpcServiceInfo, MappingCompiler>();

function compilerFor(info: GrpcServiceInfo): MappingCompiler {
  let c = compilers.get(info);
  if (!c) compilers.set(info, (c = new MappingCompiler(info)));
  return c;
}

const WELL_KNOWN_DECODERS: Record<string, Convert> = {
  'google.protobuf.Timestamp': timestampToJson,
  'google.protobuf.Duration': durationToJson,
  'google.protobuf.Struct': structToJson,
  'google.protobuf.Value': valueToJson,
  'google.protobuf.ListValue': listToJson,
  'google.protobuf.Empty': (m) => (m == null ? null : {}),
};

const WELL_KNOWN_ENCODERS: Record<string, Convert> = {
  'google.protobuf.Timestamp': timestampFromJson,
  'google.protobuf.Duration': durationFromJson,
  'google.protobuf.Struct': structFromJson,
  'google.protobuf.Value': valueFromJson,
  'google.protobuf.ListValue': listFromJson,
  'google.protobuf.Empty': () => ({}),
};

class MappingCompiler {
  readonly #info: GrpcServiceInfo;
  readonly #decoders = new Map<string, Convert>();
  readonly #encoders = new Map<string, Convert>();

  constructor(info: GrpcServiceInfo) {
    this.#info = info;
  }

  decoder(typeName: string): Convert {
    return this.#memo(this.#decoders, typeName, () => this.#compileDecoder(typeName));
  }

  encoder(typeName: string): Convert {
    return this.#memo(this.#encoders, typeName, () => this.#compileEncoder(typeName));
  }

  /** A recursive type refers to itself while it compiles: hand out a forwarder first. */
  #memo(cache: Map<string, Convert>, typeName: string, compile: () => Convert): Convert {
    const cached = cache.get(typeName);
    if (cached) return cached;
    let compiled: Convert | undefined;
    cache.set(typeName, (v) => compiled!(v));
    compiled = compile();
    cache.set(typeName, compiled);
    return compiled;
  }

  #fields(typeName: string): ProtoField[] {
    const fields = this.#info.messageFields(typeName);
    if (!fields) throw new Error(`message type "${typeName}" is not defined in ${this.#info.protoFile}`);
    return [...fields.values()];
  }

  #compileDecoder(typeName: string): Convert {
    const wellKnown = WELL_KNOWN_DECODERS[typeName];
    if (wellKnown) return wellKnown;
    if (isWrapperType(typeName)) {
      const unset = scalarDefault(this.#fields(typeName)[0].protoType);
      return (m) => (m == null ? null : (m.value ?? unset));
    }
    const steps: ((m: ProtoValue, out: Record<string, unknown>) => void)[] = [];
    const oneofs = new Set<string>();
    for (const field of this.#fields(typeName)) {
      const { name } = field;
      // Replies use the proto3 JSON names (user_id -> userId), as the JSON mapping does.
      const key = jsonName(name);
      const convert = this.#fieldDecoder(field);
      if (field.oneof) {
        // Only the set member is present, as proto-loader's `oneofs: true` delivers it.
        oneofs.add(field.oneof);
        steps.push((m, out) => {
          if (m[name] !== undefined && m[name] !== null) out[key] = convert(m[name]);
        });
      } else if (field.optional && field.kind !== 'message') {
        steps.push((m, out) => {
          out[key] = m[name] === undefined || m[name] === null ? null : convert(m[name]);
        });
      } else {
        // Unset on the wire: proto-loader's `defaults: true` fills these in already; the
        // fallback keeps the mapping right for a message that did not come through it.
        const unset = this.#unset(field);
        steps.push((m, out) => {
          const v = m[name];
          out[key] = v === undefined || v === null ? unset() : convert(v);
        });
      }
    }
    for (const oneof of oneofs) {
      steps.push((m, out) => {
        const member = typeof m[oneof] === 'string' ? jsonName(m[oneof]) : undefined;
        if (member && member in out) out[jsonName(oneof)] = member;
      });
    }
    return (m) => {
      if (m == null) return null;
      const out: Record<string, unknown> = {};
      for (const step of steps) step(m, out);
      return out;
    };
  }

  #fieldDecoder(field: ProtoField): Convert {
    if (field.kind === 'map') {
      const key = decodeMapKey(field.mapKey!);
      const value = this.#fieldDecoder(field.mapValue!);
      return (m) => {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(m)) out[key(k)] = value(m[k]);
        return out;
      };
    }
    // Scalars and enums already arrive as the mapping wants them (strings for 64-bit ints
    // and enums, base64 for bytes): copying is the conversion.
    const one: Convert = field.kind === 'message' ? this.decoder(field.protoType) : (v) => v;
    return field.repeated ? (list) => (list as unknown[]).map(one) : one;
  }

  #unset(field: ProtoField): () => unknown {
    if (field.repeated) return () => [];
    if (field.kind === 'map') return () => ({});
    if (field.kind === 'message') return () => null;
    const value =
      field.kind === 'enum' ? (this.#info.enumValues(field.protoType)?.[0] ?? 0) : scalarDefault(field.protoType);
    return () => value;
  }

  #compileEncoder(typeName: string): Convert {
    const wellKnown = WELL_KNOWN_ENCODERS[typeName];
    if (wellKnown) return wellKnown;
    if (isWrapperType(typeName)) {
      const inner = scalarEncoder(this.#fields(typeName)[0].protoType);
      return (v) => ({ value: inner(v) });
    }
    const steps: ((json: ProtoValue, out: Record<string, unknown>, set: Map<string, string>) => void)[] = [];
    for (const field of this.#fields(typeName)) {
      const { name, oneof } = field;
      const alias = jsonName(name);
      const convert = this.#fieldEncoder(field);
      steps.push((json, out, set) => {
        const v = json[name] !== undefined ? json[name] : json[alias];
        // null leaves the field unset: a wrapper or `optional` field is then absent on the wire.
        if (v === undefined || v === null) return;
        if (oneof) {
          const other = set.get(oneof);
          if (other)
            throw new FieldValueError(`"${other}" and "${name}" are both set but belong to the same oneof "${oneof}"`);
          set.set(oneof, name);
        }
        try {
          out[name] = convert(v);
        } catch (e) {
          if (e instanceof FieldValueError) e.path.unshift(name);
          throw e;
        }
      });
    }
    return (json) => {
      if (typeof json !== 'object' || Array.isArray(json))
        throw new FieldValueError(`expected an object, got ${describe(json)}`);
      const out: Record<string, unknown> = {};
      const set = new Map<string, string>();
      for (const step of steps) step(json, out, set);
      return out;
    };
  }

  #fieldEncoder(field: ProtoField): Convert {
    if (field.kind === 'map') {
      const key = encodeMapKey(field.mapKey!);
      const value = this.#fieldEncoder(field.mapValue!);
      return (json) => {
        if (typeof json !== 'object' || Array.isArray(json))
          throw new FieldValueError(`expected an object keyed by ${field.mapKey}, got ${describe(json)}`);
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(json)) {
          if (json[k] === undefined || json[k] === null) continue;
          try {
            out[key(k)] = value(json[k]);
          } catch (e) {
            if (e instanceof FieldValueError) e.path.unshift(k);
            throw e;
          }
        }
        return out;
      };
    }
    const one =
      field.kind === 'message'
        ? this.encoder(field.protoType)
        : field.kind === 'enum'
          ? this.#enumEncoder(field.protoType)
          : scalarEncoder(field.protoType);
    if (!field.repeated) return one;
    return (list) => {
      // A single value where a list is expected (e.g. one key from a template) is a list of one.
      const items: unknown[] = Array.isArray(list) ? list : [list];
      return items.map((item, i) => {
        try {
          return one(item);
        } catch (e) {
          if (e instanceof FieldValueError) e.path.unshift(String(i));
          throw e;
        }
      });
    };
  }

  #enumEncoder(typeName: string): Convert {
    const names = new Set(this.#info.enumValues(typeName) ?? []);
    return (v) => {
      if (typeof v === 'string' && names.has(v)) return v;
      if (typeof v === 'number' && Number.isInteger(v)) return v; // proto3 JSON accepts the number
      throw new FieldValueError(`expected one of ${[...names].join(', ')}, got ${describe(v)}`);
    };
  }
}
