// A gRPC source: its .proto loaded once per schema load, its fields checked against the
// service (method, request fields, streaming kind, types that can hold the proto values)
// and compiled into GrpcCalls with encoders and decoders generated per message type.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { Kind, print, type TypeNode } from 'graphql';
import type { SourceFile } from '../config/load-folder.js';
import type { ProblemList } from '../config/problems.js';
import { GrpcCall } from '../connectors/grpc/grpc-call.js';
import { compileDecoder, compileEncoder, jsonName } from '../connectors/grpc/mapping.js';
import { type GrpcServiceInfo, loadGrpcService, type ProtoField, ProtoLoadError } from '../connectors/grpc/proto.js';
import type { UpstreamRuntime } from '../connectors/upstream-call.js';
import { compileJson } from '../templates/render.js';
import type { UpstreamRegistry } from '../upstream/registry.js';
import type { GrpcTransport } from '../upstream/transport/grpc.js';
import { type CompositionModel, callDirectiveNode, type FieldModel, isListType, namedTypeOf } from './model.js';

const SCALARS_FOR: Record<string, string[]> = {
  string: ['String', 'ID'],
  bool: ['Boolean'],
  double: ['Float'],
  float: ['Float'],
  // An ID (or String) may hold any integer: GraphQL's ID serializes integers as strings, and
  // an ID argument is sent back as the proto field's integer type.
  int32: ['Int', 'Float', 'ID', 'String'],
  sint32: ['Int', 'Float', 'ID', 'String'],
  sfixed32: ['Int', 'Float', 'ID', 'String'],
  uint32: ['Float', 'String', 'ID'],
  fixed32: ['Float', 'String', 'ID'],
  // 64-bit integers travel as decimal strings: Int (32-bit) and Float (53-bit) would lose them.
  int64: ['String', 'ID'],
  uint64: ['String', 'ID'],
  sint64: ['String', 'ID'],
  fixed64: ['String', 'ID'],
  sfixed64: ['String', 'ID'],
  bytes: ['String'],
  'google.protobuf.Timestamp': ['String'],
  'google.protobuf.Duration': ['String'],
  'google.protobuf.StringValue': ['String', 'ID'],
  'google.protobuf.BoolValue': ['Boolean'],
  'google.protobuf.DoubleValue': ['Float'],
  'google.protobuf.FloatValue': ['Float'],
  'google.protobuf.Int32Value': ['Int', 'Float', 'ID', 'String'],
  'google.protobuf.UInt32Value': ['Float', 'String', 'ID'],
  'google.protobuf.Int64Value': ['String', 'ID'],
  'google.protobuf.UInt64Value': ['String', 'ID'],
  'google.protobuf.BytesValue': ['String'],
};

export class GrpcSource {
  /** Type<-message pairs already checked, so each problem is reported once. */
  #checked = new Set<string>();

  private constructor(
    readonly file: SourceFile,
    readonly info: GrpcServiceInfo,
    private readonly transport: GrpcTransport,
  ) {}

  /** Loads the proto; a problem names the schema file's @upstream and the proto's own line. */
  static load(file: SourceFile, registry: UpstreamRegistry, problems: ProblemList): GrpcSource | undefined {
    const { proto, service, name } = file.upstream;
    const argument = (setting: string) =>
      file.upstream.node.arguments?.find((a) => a.name.value === setting) ?? file.upstream.node;
    try {
      const info = loadGrpcService(proto!, service!);
      // Channels are kept across reloads while the proto text, service and TLS settings are the same.
      const identity = `${proto} ${service} ${createHash('sha1').update(readFileSync(proto!)).digest('hex')}`;
      const definition = info.packageDefinition[info.service] as ServiceDefinition;
      const transport = registry.grpcTransport(name, identity, info.service, definition, file.upstream.cluster.tls);
      return new GrpcSource(file, info, transport);
    } catch (e) {
      if (!(e instanceof ProtoLoadError)) throw e;
      const where = e.line ? `${e.file ?? proto}:${e.line}:${e.column ?? 1}` : (e.file ?? proto);
      problems.at(argument(e.setting), file.file, `proto ${where}: ${e.message}`);
      return undefined;
    }
  }

  compile(field: FieldModel, upstream: UpstreamRuntime): GrpcCall {
    const grpc = field.grpc!;
    const method = this.info.methods.get(grpc.method)!;
    return new GrpcCall({
      upstream,
      transport: this.transport,
      method,
      request: compileJson(grpc.request ?? {}),
      encode: compileEncoder(this.info, method.requestType),
      decode: compileDecoder(this.info, method.responseType),
      result: grpc.result ? grpc.result.split('.') : undefined,
      timeoutMs: grpc.timeoutMs,
      isRead: field.typeName !== 'Mutation' || method.idempotent,
    });
  }

  /** Method, request fields, streaming kind and result types of one @grpc field. */
  check(field: FieldModel, model: CompositionModel, problems: ProblemList): void {
    const grpc = field.grpc!;
    const at = callDirectiveNode(field);
    const where = `${field.typeName}.${field.name}`;
    const file = this.file.file;
    const method = this.info.methods.get(grpc.method);
    if (!method) {
      problems.at(
        at,
        file,
        `${where}: ${this.info.service} has no method "${grpc.method}" (methods: ${[...this.info.methods.keys()].join(', ')})`,
      );
      return;
    }
    if (method.clientStreaming)
      problems.at(
        at,
        file,
        `${where}: ${grpc.method} streams from the client; only unary and server-streaming methods can back a field`,
      );
    if (field.typeName === 'Subscription' && !method.serverStreaming)
      problems.at(at, file, `${where}: a Subscription field needs a server-streaming method; ${grpc.method} is unary`);
    if (
      method.serverStreaming &&
      field.typeName !== 'Subscription' &&
      field.node.type.kind !== Kind.LIST_TYPE &&
      !(field.node.type.kind === Kind.NON_NULL_TYPE && field.node.type.type.kind === Kind.LIST_TYPE)
    ) {
      problems.at(
        at,
        file,
        `${where}: ${grpc.method} streams its replies; on a ${field.typeName} field it is collected into a list, so the field must be a list`,
      );
    }
    this.#checkRequest(grpc.request, method.requestType, `${where}: request`, at, problems);
    // The value the field gets: the reply at result:, then, in a grouped batch reply, at pick:.
    let message: string | undefined = method.responseType;
    const steps = [
      ...(grpc.result?.split('.') ?? []).map((s) => ['result', s]),
      ...(grpc.pick?.split('.') ?? []).map((s) => ['pick', s]),
    ];
    for (const [setting, step] of steps) {
      const f: ProtoField | undefined = message ? this.#fieldsOf(message)?.get(step) : undefined;
      if (!f) {
        problems.at(
          at,
          file,
          `${where}: ${setting} "${setting === 'result' ? grpc.result : grpc.pick}": ${message} has no field "${step}"`,
        );
        return;
      }
      message = f.kind === 'message' ? f.protoType : undefined;
    }
    if (message) this.#checkType(field.node.type, message, model, where, this.#checked, problems);
  }

  /** A message's fields by proto name and by proto3 JSON name (requests accept both; replies use the JSON name). */
  #fieldsOf(typeName: string): Map<string, ProtoField> | undefined {
    const fields = this.info.messageFields(typeName);
    if (!fields) return undefined;
    const both = new Map(fields);
    for (const f of fields.values()) both.set(jsonName(f.name), f);
    return both;
  }

  #checkRequest(
    template: unknown,
    typeName: string,
    where: string,
    at: FieldModel['node'] | ReturnType<typeof callDirectiveNode>,
    problems: ProblemList,
  ): void {
    if (template === null || typeof template !== 'object' || Array.isArray(template)) return;
    const fields = this.#fieldsOf(typeName);
    if (!fields) return;
    for (const [key, value] of Object.entries(template)) {
      const f = fields.get(key);
      if (!f) {
        problems.at(
          at,
          this.file.file,
          `${where} names field "${key}", which ${typeName} does not have (fields: ${[...(this.info.messageFields(typeName)?.values() ?? [])].map((f) => jsonName(f.name)).join(', ')})`,
        );
      } else if (f.kind === 'message' && !f.repeated) {
        this.#checkRequest(value, f.protoType, `${where}.${key}`, at, problems);
      }
    }
  }

  /** Every GraphQL field of `type` that maps onto a field of `message` can hold its values. */
  #checkType(
    type: TypeNode,
    message: string,
    model: CompositionModel,
    where: string,
    seen: Set<string>,
    problems: ProblemList,
  ): void {
    const typeName = namedTypeOf(type);
    const key = `${typeName}<-${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    const members = model.abstracts.get(typeName);
    if (members) {
      // A gRPC reply carries no __typename: only a @discriminator tells its members apart
      // (for a oneof: field "<the oneof's name>", each member reading `@from(path: "<member>.x")`).
      if (!model.discriminators.has(typeName)) {
        problems.at(
          type,
          this.file.file,
          `${where}: ${typeName} is a union or interface over ${message}, and a gRPC reply carries no __typename; add @discriminator(field:) to ${typeName} (for a oneof: its name)`,
        );
      }
      for (const member of members)
        this.#checkType(
          { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: member } },
          message,
          model,
          where,
          seen,
          problems,
        );
      return;
    }
    const fields = this.#fieldsOf(message);
    const object = model.types.get(typeName);
    if (!fields || !object) return;
    for (const owners of object.fields.values()) {
      const gql = owners.find((o) => o.source === this.file);
      if (!gql || gql.grpc) continue;
      const path = gql.from ?? [gql.name];
      const proto = path.length === 1 ? fields.get(path[0]) : undefined;
      if (!proto) continue;
      const target = namedTypeOf(gql.node.type);
      const label = `${typeName}.${gql.name}`;
      const protoText = `${message}.${proto.name} is ${proto.repeated && proto.kind !== 'map' ? 'repeated ' : ''}${proto.protoType}`;
      const custom = model.scalars.has(target);
      if (proto.kind !== 'map' && !custom && proto.repeated !== isListType(gql.node.type)) {
        problems.at(
          gql.node.type,
          this.file.file,
          `${label} is ${print(gql.node.type)}, but ${protoText}; expected ${proto.repeated ? 'a list' : 'a single value, not a list'}`,
        );
        continue;
      }
      if (proto.kind === 'map') {
        // A map arrives as a JSON object: only a custom scalar can carry it.
        if (!custom)
          problems.at(
            gql.node.type,
            this.file.file,
            `${label} is ${target}, but ${protoText}; expected a custom scalar (e.g. scalar ProtoMap), since a map arrives as a JSON object`,
          );
        continue;
      }
      if (proto.kind === 'message' && !SCALARS_FOR[proto.protoType]) {
        if (model.types.has(target) || model.abstracts.has(target))
          this.#checkType(gql.node.type, proto.protoType, model, where, seen, problems);
        else if (!custom)
          problems.at(
            gql.node.type,
            this.file.file,
            `${label} is ${target}, but ${protoText}; expected an object type`,
          );
        continue;
      }
      if (proto.kind === 'enum' && model.enums.has(target)) {
        // Enums map by value name: the GraphQL enum must be able to represent every value.
        const missing = (this.info.enumValues(proto.protoType) ?? []).filter((v) => !model.enums.get(target)!.has(v));
        if (missing.length)
          problems.at(
            gql.node.type,
            this.file.file,
            `${label}: enum ${target} lacks ${missing.join(', ')} of ${proto.protoType}`,
          );
        continue;
      }
      // A key referring to an entity another source completes (`product @from(path: "productId")`).
      if (
        proto.kind === 'scalar' &&
        model.types.get(target)?.definedBy.size &&
        model.types.get(target)!.definedBy.size > 1
      )
        continue;
      const allowed = proto.kind === 'enum' ? ['String'] : SCALARS_FOR[proto.protoType];
      // A custom scalar is the schema author's promise to accept the value.
      if (allowed && !allowed.includes(target) && !custom) {
        problems.at(
          gql.node.type,
          this.file.file,
          `${label} is ${target}, but ${protoText}; expected ${allowed.join(' or ')}`,
        );
      }
    }
  }
}
