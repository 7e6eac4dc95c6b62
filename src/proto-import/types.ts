// How proto types become GraphQL types in a generated schema file: the scalar table (which
// must agree with the load-time check, SCALARS_FOR in src/compose/grpc-source.ts), the
// well-known types, and GraphQL names for messages and enums.
import type { ProtoField } from '../connectors/grpc/proto.js';

/** Maps are JSON objects on the gateway's side (keys as strings); this scalar carries them as they are. */
export const MAP_SCALAR = 'ProtoMap';
/** google.protobuf.Struct, Value and ListValue: any JSON value. */
export const JSON_SCALAR = 'ProtoJSON';

const SCALARS: Record<string, string> = {
  string: 'String',
  bool: 'Boolean',
  double: 'Float',
  float: 'Float',
  int32: 'Int',
  sint32: 'Int',
  sfixed32: 'Int',
  // Above 2^31-1: Int would reject them; Float holds every uint32 exactly.
  uint32: 'Float',
  fixed32: 'Float',
  int64: 'String',
  uint64: 'String',
  sint64: 'String',
  fixed64: 'String',
  sfixed64: 'String',
  bytes: 'String',
};

const NOTES: Record<string, string> = {
  int64: '64-bit integer as a decimal string',
  uint64: '64-bit integer as a decimal string',
  sint64: '64-bit integer as a decimal string',
  fixed64: '64-bit integer as a decimal string',
  sfixed64: '64-bit integer as a decimal string',
  bytes: 'bytes, base64',
  'google.protobuf.Timestamp': 'google.protobuf.Timestamp, RFC 3339 (2024-01-31T12:00:00Z)',
  'google.protobuf.Duration': 'google.protobuf.Duration, ISO 8601 (PT1.5S)',
  'google.protobuf.Int64Value': '64-bit integer as a decimal string, null when unset',
  'google.protobuf.UInt64Value': '64-bit integer as a decimal string, null when unset',
  'google.protobuf.BytesValue': 'bytes, base64, null when unset',
};

/** Well-known message types that the mapping turns into a scalar value. */
const WELL_KNOWN: Record<string, string> = {
  'google.protobuf.Timestamp': 'String',
  'google.protobuf.Duration': 'String',
  'google.protobuf.StringValue': 'String',
  'google.protobuf.BytesValue': 'String',
  'google.protobuf.BoolValue': 'Boolean',
  'google.protobuf.DoubleValue': 'Float',
  'google.protobuf.FloatValue': 'Float',
  'google.protobuf.Int32Value': 'Int',
  'google.protobuf.UInt32Value': 'Float',
  'google.protobuf.Int64Value': 'String',
  'google.protobuf.UInt64Value': 'String',
  'google.protobuf.Struct': JSON_SCALAR,
  'google.protobuf.Value': JSON_SCALAR,
  'google.protobuf.ListValue': JSON_SCALAR,
};

/** The GraphQL scalar a message type maps onto, when it is a well-known type the mapping flattens. */
export function wellKnownScalar(protoType: string): string | undefined {
  return WELL_KNOWN[protoType];
}

/** A description for fields whose GraphQL type hides the proto type's shape. */
export function fieldNote(field: ProtoField): string | undefined {
  if (field.kind === 'map') return `${field.protoType}: a JSON object keyed by the map's keys (as strings)`;
  return NOTES[field.protoType];
}

/**
 * The GraphQL type of one proto field. Output: scalars and enums are never null (proto3
 * fills in defaults), lists and maps never null, messages, wrappers, `optional` fields and
 * oneof members null when unset. Input: everything may be omitted.
 */
export function fieldType(field: ProtoField, named: (protoType: string) => string, input: boolean): string {
  let base: string;
  if (field.kind === 'map') base = MAP_SCALAR;
  else if (field.kind === 'scalar') base = SCALARS[field.protoType] ?? 'String';
  else if (field.kind === 'message') base = wellKnownScalar(field.protoType) ?? named(field.protoType);
  else base = named(field.protoType);
  if (input) return field.repeated ? `[${base}!]` : base;
  // google.protobuf.Value holds JSON null, so list items of it may be null.
  if (field.repeated) return `[${base}${field.protoType === 'google.protobuf.Value' ? '' : '!'}]!`;
  const nullable = field.kind === 'message' || field.optional || field.oneof !== undefined;
  return nullable ? base : `${base}!`;
}

const RESERVED = new Set([
  'Query',
  'Mutation',
  'Subscription',
  'String',
  'Int',
  'Float',
  'Boolean',
  'ID',
  MAP_SCALAR,
  JSON_SCALAR,
]);

/**
 * GraphQL names for proto messages and enums: the short name ("Feature"); on a collision,
 * the package-less path ("Outer.Inner" -> "OuterInner"); then the whole name in PascalCase;
 * then a number. `known` tells message and enum full names apart from package segments.
 */
export class TypeNames {
  readonly #taken = new Set(RESERVED);
  readonly #names = new Map<string, string>();
  readonly #inputs = new Map<string, string>();

  constructor(fullNames: string[], known: Set<string>) {
    const candidates = fullNames.map((full) => ({ full, options: nameOptions(full, known) }));
    const wanted = new Map<string, number>();
    for (const c of candidates) wanted.set(c.options[0], (wanted.get(c.options[0]) ?? 0) + 1);
    for (const c of candidates) {
      const usable = c.options.filter((o, i) => !this.#taken.has(o) && (i > 0 || wanted.get(o) === 1));
      this.#names.set(c.full, this.#claim(usable[0] ?? c.options.at(-1)!));
    }
  }

  /** The object or enum name of a message or enum. */
  of(fullName: string): string {
    const name = this.#names.get(fullName);
    if (!name) throw new Error(`no GraphQL name allocated for ${fullName}`);
    return name;
  }

  /** The input object name of a message: its object name + "Input". */
  input(fullName: string): string {
    let name = this.#inputs.get(fullName);
    if (!name) this.#inputs.set(fullName, (name = this.#claim(`${this.of(fullName)}Input`)));
    return name;
  }

  #claim(name: string): string {
    let claimed = name;
    for (let i = 2; this.#taken.has(claimed); i++) claimed = `${name}${i}`;
    this.#taken.add(claimed);
    return claimed;
  }
}

function nameOptions(fullName: string, known: Set<string>): string[] {
  const parts = fullName.split('.');
  // The first segment that starts a message or enum name ends the package.
  let start = parts.length - 1;
  for (let i = 0; i < parts.length; i++) {
    if (known.has(parts.slice(0, i + 1).join('.'))) {
      start = i;
      break;
    }
  }
  const pascal = (segments: string[]) =>
    segments
      .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
      .join('')
      .replace(/[^_0-9A-Za-z]/g, '_');
  return [...new Set([pascal(parts.slice(-1)), pascal(parts.slice(start)), pascal(parts)])];
}
