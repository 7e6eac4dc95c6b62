// Loads one gRPC service from a .proto file: the proto-loader package definition grpc-js
// calls with, plus the reflection the schema compiler and the JSON mapping need (fields,
// enums, method flags). Nothing is cached across calls: a schema reload reads the file again.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { ProtoLoadError, toLoadError } from './proto-load-error.js';

export interface GrpcMethodInfo {
  name: string;
  /** "/pkg.Service/Method", the HTTP/2 path grpc-js sends. */
  path: string;
  /** Fully qualified, no leading dot. */
  requestType: string;
  responseType: string;
  serverStreaming: boolean;
  clientStreaming: boolean;
  /** `option idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`: the cluster may retry it. */
  idempotent: boolean;
}

export interface ProtoField {
  /** As written in the .proto (keepCase). */
  name: string;
  kind: 'scalar' | 'enum' | 'message' | 'map';
  /** 'int64', 'string', 'bytes', ... or the enum/message full name; for a map, "map<K, V>". */
  protoType: string;
  repeated: boolean;
  /** proto3 `optional` or a wrapper type (google.protobuf.StringValue, ...): null when unset. */
  optional: boolean;
  /** The real oneof holding the field (proto3 `optional`'s synthetic oneof is not reported). */
  oneof?: string;
  /** Map key scalar type, e.g. 'string' or 'int64'. */
  mapKey?: string;
  /** Map value, described as a field named "value". */
  mapValue?: ProtoField;
}

export interface GrpcServiceInfo {
  /** Fully qualified, e.g. "shop.orders.v1.OrderService". */
  service: string;
  protoFile: string;
  methods: Map<string, GrpcMethodInfo>;
  packageDefinition: PackageDefinition;
  /** Fields of a message by name; `typeName` with or without a leading dot. */
  messageFields(typeName: string): Map<string, ProtoField> | undefined;
  enumValues(typeName: string): string[] | undefined;
  messageNames(): string[];
  enumNames(): string[];
}

export { ProtoLoadError };

export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  oneofs: true,
};

// proto-loader's package definition describes messages through descriptors rebuilt by
// protobufjs, and that round trip loses map fields, proto3 `optional` and which fields sit
// in a oneof. So the reflection below comes from a protobufjs Root parsed from the same file
// with the same import rule, using the very protobufjs instance proto-loader depends on
// (resolved from proto-loader's own location, so it is never a second copy or version).
const protobuf = createRequire(createRequire(import.meta.url).resolve('@grpc/proto-loader'))(
  'protobufjs',
) as ProtobufModule;

export function loadGrpcService(protoFile: string, serviceName: string): GrpcServiceInfo {
  if (!isAbsolute(protoFile)) throw new ProtoLoadError(`proto path must be absolute, got "${protoFile}"`);
  if (!existsSync(protoFile)) throw new ProtoLoadError(`proto file ${protoFile} does not exist`);
  const includeDir = dirname(protoFile);
  const root = parseRoot(protoFile, includeDir);
  const wanted = serviceName.replace(/^\./, '');
  const reflected = root.lookup(wanted);
  if (!reflected || !isService(reflected)) {
    const services = collect(root, isService).map((s) => s.fullName.slice(1));
    const has = services.length ? `it has ${services.map((s) => `"${s}"`).join(', ')}` : 'it has no service';
    throw new ProtoLoadError(
      `service "${wanted}" is not defined in ${basename(protoFile)}: ${has}`,
      undefined,
      undefined,
      undefined,
      'service',
    );
  }
  // The definition grpc-js calls with: proto-loader with the mapping's options.
  const packageDefinition = loadSync(protoFile, { ...PROTO_LOADER_OPTIONS, includeDirs: [includeDir] });
  const serviceDefinition = packageDefinition[wanted] as Record<
    string,
    { path: string; options?: Record<string, unknown> }
  >;

  const methods = new Map<string, GrpcMethodInfo>();
  for (const m of reflected.methodsArray) {
    const level = serviceDefinition[m.name]?.options?.idempotency_level ?? m.options?.idempotency_level;
    methods.set(m.name, {
      name: m.name,
      path: serviceDefinition[m.name]?.path ?? `/${wanted}/${m.name}`,
      requestType: m.resolvedRequestType.fullName.slice(1),
      responseType: m.resolvedResponseType.fullName.slice(1),
      serverStreaming: !!m.responseStream,
      clientStreaming: !!m.requestStream,
      idempotent: level === 'NO_SIDE_EFFECTS' || level === 'IDEMPOTENT',
    });
  }

  const types = new Map(collect(root, isType).map((t) => [t.fullName.slice(1), t]));
  const enums = new Map(collect(root, isEnum).map((e) => [e.fullName.slice(1), e]));
  const fieldCache = new Map<string, Map<string, ProtoField>>();
  return {
    service: wanted,
    protoFile,
    methods,
    packageDefinition,
    messageFields(typeName) {
      const name = typeName.replace(/^\./, '');
      let fields = fieldCache.get(name);
      if (!fields) {
        const type = types.get(name);
        if (!type) return undefined;
        fields = new Map(type.fieldsArray.map((f) => [f.name, describeField(f)]));
        fieldCache.set(name, fields);
      }
      return fields;
    },
    enumValues(typeName) {
      const e = enums.get(typeName.replace(/^\./, ''));
      // Declaration order: the first value is the proto3 default.
      return e ? Object.keys(e.values) : undefined;
    },
    messageNames: () => [...types.keys()],
    enumNames: () => [...enums.keys()],
  };
}

const WRAPPERS = new Set(
  [
    'StringValue',
    'BytesValue',
    'BoolValue',
    'Int32Value',
    'UInt32Value',
    'Int64Value',
    'UInt64Value',
    'FloatValue',
    'DoubleValue',
  ].map((n) => `google.protobuf.${n}`),
);

export function isWrapperType(protoType: string): boolean {
  return WRAPPERS.has(protoType);
}

function describeField(f: PbField): ProtoField {
  const synthetic =
    !!f.partOf &&
    (f.options?.proto3_optional === true || (f.partOf.name === `_${f.name}` && f.partOf.fieldsArray.length === 1));
  const oneof = f.partOf && !synthetic ? f.partOf.name : undefined;
  if (f.map && f.keyType) {
    const value = describeValue('value', f.type, f.resolvedType);
    return {
      name: f.name,
      kind: 'map',
      protoType: `map<${f.keyType}, ${value.protoType}>`,
      repeated: false,
      optional: false,
      mapKey: f.keyType,
      mapValue: value,
    };
  }
  const described = describeValue(f.name, f.type, f.resolvedType);
  return {
    ...described,
    repeated: f.repeated,
    optional: synthetic || (described.kind === 'message' && isWrapperType(described.protoType)),
    ...(oneof ? { oneof } : {}),
  };
}

function describeValue(name: string, type: string, resolved: PbReflection | null): ProtoField {
  if (!resolved) return { name, kind: 'scalar', protoType: type, repeated: false, optional: false };
  return {
    name,
    kind: isEnum(resolved) ? 'enum' : 'message',
    protoType: resolved.fullName.slice(1),
    repeated: false,
    optional: false,
  };
}

function parseRoot(protoFile: string, includeDir: string): PbRoot {
  const root = new protobuf.Root();
  // proto-loader's rule (includeDirs = the file's folder): imports relative to it;
  // google/protobuf/* well-known types come bundled with protobufjs.
  // As in proto-loader, an import missing there is then looked up beside the importing file.
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    const inInclude = join(includeDir, target);
    return existsSync(inInclude) || !origin ? inInclude : join(dirname(origin), target);
  };
  try {
    root.loadSync(protoFile, { keepCase: true });
    root.resolveAll();
    return root;
  } catch (e) {
    throw toLoadError(e, protoFile, root.files);
  }
}

function collect<T extends PbReflection>(ns: PbReflection, want: (r: PbReflection) => r is T, out: T[] = []): T[] {
  for (const child of ns.nestedArray ?? []) {
    if (want(child)) out.push(child);
    collect(child, want, out);
  }
  return out;
}

const isService = (r: PbReflection): r is PbService => r instanceof protobuf.Service;
const isType = (r: PbReflection): r is PbType => r instanceof protobuf.Type;
const isEnum = (r: PbReflection): r is PbEnum => r instanceof protobuf.Enum;

// The few parts of protobufjs' reflection used here, typed locally: protobufjs is reached
// through proto-loader and is not one of Quilt's own dependencies.
interface PbReflection {
  name: string;
  fullName: string;
  nestedArray?: PbReflection[];
}
interface PbField {
  name: string;
  type: string;
  repeated: boolean;
  map?: boolean;
  keyType?: string;
  resolvedType: PbReflection | null;
  partOf: { name: string; fieldsArray: unknown[] } | null;
  options?: Record<string, unknown>;
}
interface PbType extends PbReflection {
  fieldsArray: PbField[];
}
interface PbEnum extends PbReflection {
  values: Record<string, number>;
}
interface PbMethod {
  name: string;
  requestStream?: boolean;
  responseStream?: boolean;
  resolvedRequestType: PbReflection;
  resolvedResponseType: PbReflection;
  options?: Record<string, unknown>;
}
interface PbService extends PbReflection {
  methodsArray: PbMethod[];
}
interface PbRoot extends PbReflection {
  files: string[];
  resolvePath: (origin: string, target: string) => string | null;
  loadSync(file: string, options: { keepCase: boolean }): PbRoot;
  resolveAll(): PbRoot;
  lookup(path: string): PbReflection | null;
}
interface ProtobufModule {
  Root: new () => PbRoot;
  Type: abstract new (...args: never[]) => PbType;
  Enum: abstract new (...args: never[]) => PbEnum;
  Service: abstract new (...args: never[]) => PbService;
}
