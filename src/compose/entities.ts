// Entity completion (docs/ARCHITECTURE.md, "Compile local sources, delegate to remote ones"):
// a field that returns a type shared by several sources completes its objects where they
// enter the result. For each other source owning a selected field, one per-request
// DataLoader load per object fetches that source's view by key (batched into one call per
// source per level) and the needed keys are copied into the object, so the fields below
// resolve synchronously by property access. Objects are first given the properties their
// source spells differently (field-mapping.ts), so keys and fields read the same whatever
// source an object came from.
import DataLoader from 'dataloader';
import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import type { SourceFile } from '../config/load-folder.js';
import { NOT_FOUND, type UpstreamCall } from '../connectors/upstream-call.js';
import { perRequest, type QuiltContext } from '../request-context/context.js';
import { getPath, isMissing } from '../templates/placeholders.js';
import type { BatchReplyReader } from './batch-replies.js';
import type { BatchRecorder } from './compile-calls.js';
import { applyRenames, type FieldMapping, type Obj, type Rename } from './field-mapping.js';
import type { CompositionModel } from './model.js';
import { type SelectedField, selectedFields } from './selection.js';

export interface EntityLookup {
  readonly source: SourceFile;
  readonly keyField: string;
  /** Loads this source's view of each object (keys[i] is objects[i]'s) and copies the `copy` keys into it. */
  complete(
    objects: Obj[],
    keys: readonly string[],
    copy: readonly string[],
    ctx: QuiltContext,
    info: GraphQLResolveInfo,
  ): Promise<void>;
  /** This source's object for a key (null when it has none), when it can be used as it is. */
  load?(key: string, ctx: QuiltContext): Promise<unknown>;
}

export interface CallLookupSpec {
  /** Names this lookup's per-request loader. */
  id: string;
  source: SourceFile;
  keyField: string;
  call: UpstreamCall;
  keyArg: string;
  /** True when the merge field takes a list of keys: one call per batch; false: one call per key. */
  batched: boolean;
  maxBatchSize: number;
  /** Told the size of each batched call, when batch sizes are measured. */
  recordBatch?: BatchRecorder;
  /** Reads a batched reply back, one value per key (@merge's match:, default: the key field's path). */
  readReply: BatchReplyReader;
  /** `pick:` of a lookup that takes one key. */
  pick?: readonly string[];
  /** What the source spells differently, applied to each object it returns. */
  renames: readonly Rename[];
}

/** A lookup through a field marked @merge that makes an upstream call. */
export class CallEntityLookup implements EntityLookup {
  readonly source: SourceFile;
  readonly keyField: string;

  constructor(private readonly spec: CallLookupSpec) {
    this.source = spec.source;
    this.keyField = spec.keyField;
  }

  #loader(ctx: QuiltContext): DataLoader<string, unknown> {
    return perRequest(
      ctx,
      this.spec.id,
      () => new DataLoader<string, unknown>((keys) => this.#fetch(keys, ctx), { maxBatchSize: this.spec.maxBatchSize }),
    );
  }

  load(key: string, ctx: QuiltContext): Promise<unknown> {
    return this.#loader(ctx).load(key);
  }

  complete(objects: Obj[], keys: readonly string[], copy: readonly string[], ctx: QuiltContext): Promise<void> {
    const loader = this.#loader(ctx);
    // The common case, one object entering the result (a field returning one entity).
    if (objects.length === 1) {
      return loader.load(keys[0]).then(
        (raw) => copyInto(objects[0], raw, copy),
        (error: Error) => copyInto(objects[0], error, copy),
      );
    }
    return loader.loadMany(keys).then((results) => {
      for (let i = 0; i < objects.length; i++) copyInto(objects[i], results[i], copy);
    });
  }

  async #fetch(keys: readonly string[], ctx: QuiltContext): Promise<unknown[]> {
    const { call, keyArg, batched, readReply, pick, renames, recordBatch } = this.spec;
    const scope = { jwt: ctx.jwt, headers: ctx.headers };
    recordBatch?.(keys.length);
    const values = batched
      ? readReply(await call.run({ ...scope, args: { [keyArg]: keys } }, ctx), keys)
      : await Promise.all(
          keys.map(async (key) => {
            const raw = await call.run({ ...scope, args: { [keyArg]: key } }, ctx).catch((e: Error) => e);
            if (raw === NOT_FOUND || raw instanceof Error) return raw === NOT_FOUND ? null : raw;
            return pick ? (getPath(raw, pick) ?? null) : raw;
          }),
        );
    if (renames.length) for (const v of values) if (isObject(v)) applyRenames(v, renames);
    return values;
  }
}

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !(value instanceof Error) && !Array.isArray(value);
}

function copyInto(target: Obj, raw: unknown, copy: readonly string[]): void {
  if (raw instanceof Error) {
    // A resolver that returns an Error makes that field null with the error at its path.
    for (const key of copy) target[key] = raw;
    return;
  }
  if (raw === null || typeof raw !== 'object') return;
  for (const key of copy) {
    if (target[key] === undefined) target[key] = (raw as Obj)[key];
  }
}

interface PlanStep {
  lookup: EntityLookup;
  copy: string[];
}

export class EntityCompleter {
  constructor(
    private readonly model: CompositionModel,
    /** typeName -> owning source -> its lookup. */
    private readonly lookups: Map<string, Map<SourceFile, EntityLookup>>,
    /** "Type.field" -> parent fields its resolver reads ({parent.x}, @computed). */
    private readonly requires: Map<string, string[]>,
    private readonly mapping: FieldMapping,
  ) {}

  isEntity(typeName: string): boolean {
    return (this.lookups.get(typeName)?.size ?? 0) > 0;
  }

  /** Objects of this type from this source need work where they enter the result. */
  needsCompletion(typeName: string, origin: SourceFile): boolean {
    return this.isEntity(typeName) || this.mapping.renamesOf(typeName, origin).length > 0;
  }

  keyFieldOf(typeName: string): string | undefined {
    const first = this.lookups.get(typeName)?.values().next().value;
    return first?.keyField;
  }

  /** Wraps a field resolver that returns `typeName` objects coming from `origin`. */
  wrap(
    resolver: GraphQLFieldResolver<unknown, QuiltContext>,
    typeName: string,
    origin: SourceFile,
  ): GraphQLFieldResolver<unknown, QuiltContext> {
    const keyField = this.keyFieldOf(typeName);
    const keyPath = keyField === undefined ? undefined : this.mapping.pathIn(typeName, keyField, origin);
    const renames = this.mapping.renamesOf(typeName, origin);
    // Read after the renames: the key sits at the origin's own path (or, renamed, at its name).
    const keyOf = keyPath?.length === 1 ? (o: Obj) => o[keyPath[0]] : (o: Obj) => getPath(o, keyPath ?? []);
    // Plans by selection: selectedFields returns the same array for the same document. An
    // entity given by its key alone has none of its origin's fields either: its plan asks
    // every owner, the origin included.
    const plans = new WeakMap<readonly SelectedField[], PlanStep[]>();
    const keyPlans = new WeakMap<readonly SelectedField[], PlanStep[]>();
    const complete = (value: unknown, ctx: QuiltContext, info: GraphQLResolveInfo): unknown => {
      if (value === null || value === undefined || value instanceof Error) return value;
      const selected = selectedFields(info, typeName);
      const byKey = isKey(value) || (Array.isArray(value) && value.some(isKey));
      const cache = byKey ? keyPlans : plans;
      let steps = cache.get(selected);
      if (!steps) cache.set(selected, (steps = this.#plan(typeName, byKey ? undefined : origin, selected)));
      // A source may refer to an entity by its key alone (`sellerId: "7"`). When one other
      // source supplies the rest, its object is the entity: no copy, one promise per key.
      if (isKey(value) && steps.length === 1 && steps[0].lookup.load) return steps[0].lookup.load(String(value), ctx);
      const normalized = keyPath ? asObjects(value, keyPath) : value;
      if (steps.length === 0 && renames.length === 0) return normalized;
      const objects: Obj[] = [];
      flatten(normalized, objects);
      if (renames.length) for (const o of objects) applyRenames(o, renames);
      if (steps.length === 0 || objects.length === 0) return normalized;
      return this.#run(normalized, objects, keyOf, steps, ctx, info);
    };
    return (parent, args, ctx, info) => {
      const value = resolver(parent, args, ctx, info);
      if (value instanceof Promise) return value.then((v) => complete(v, ctx, info));
      return complete(value, ctx, info);
    };
  }

  #run(
    normalized: unknown,
    all: Obj[],
    keyOf: (o: Obj) => unknown,
    steps: PlanStep[],
    ctx: QuiltContext,
    info: GraphQLResolveInfo,
  ): unknown {
    // Only objects with a key can be completed; keys compare as strings.
    const objects: Obj[] = [];
    const keys: string[] = [];
    for (const o of all) {
      const k = keyOf(o);
      if (isMissing(k)) continue;
      objects.push(o);
      keys.push(String(k));
    }
    if (objects.length === 0) return normalized;
    if (steps.length === 1)
      return steps[0].lookup.complete(objects, keys, steps[0].copy, ctx, info).then(() => normalized);
    return Promise.all(steps.map((s) => s.lookup.complete(objects, keys, s.copy, ctx, info))).then(() => normalized);
  }

  /** `origin` undefined: the objects hold a key only, so every owner's fields are looked up. */
  #plan(typeName: string, origin: SourceFile | undefined, selected: readonly SelectedField[]): PlanStep[] {
    const type = this.model.types.get(typeName);
    const lookups = this.lookups.get(typeName);
    if (!type || !lookups) return [];
    const steps = new Map<EntityLookup, PlanStep>();
    const need = (fieldName: string, responseKey: string) => {
      const owners = type.fields.get(fieldName);
      if (!owners || owners.some((o) => o.source === origin)) return;
      const owner = owners.find((o) => lookups.has(o.source));
      if (!owner) return;
      const lookup = lookups.get(owner.source)!;
      let step = steps.get(lookup);
      if (!step) steps.set(lookup, (step = { lookup, copy: [] }));
      const key =
        owner.source.upstream.protocol === 'GRAPHQL'
          ? responseKey
          : this.mapping.resultKey(typeName, fieldName, owner.source);
      if (!step.copy.includes(key)) step.copy.push(key);
    };
    // A key reference holds its key: the key field needs no lookup.
    const keyField = origin === undefined ? this.keyFieldOf(typeName) : undefined;
    for (const { name, responseKey } of selected) {
      if (name === '__typename' || name === keyField) continue;
      const required = this.requires.get(`${typeName}.${name}`);
      if (required) for (const r of required) need(r, r);
      else need(name, responseKey);
    }
    return [...steps.values()];
  }
}

function isKey(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

/** A key alone (`"7"`) becomes an object holding it where the origin's JSON holds keys. */
function asObjects(value: unknown, keyPath: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => asObjects(v, keyPath));
  if (!isKey(value)) return value;
  let obj: Obj = { [keyPath[keyPath.length - 1]]: value };
  for (let i = keyPath.length - 2; i >= 0; i--) obj = { [keyPath[i]]: obj };
  return obj;
}

function flatten(value: unknown, out: Obj[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else if (value !== null && typeof value === 'object' && !(value instanceof Error)) out.push(value as Obj);
}
