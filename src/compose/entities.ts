// Entity completion (docs/ARCHITECTURE.md, "Compile local sources, delegate to remote ones"): a field that returns a type shared by several
// sources completes its objects where they enter the result. For each other source owning a
// selected field, one per-request DataLoader load per object fetches that source's view by
// key (batched into one call per source per level) and the needed keys are copied into the
// object, so the fields below resolve synchronously by property access.
import DataLoader from 'dataloader';
import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import type { SourceFile } from '../config/load-folder.js';
import { NOT_FOUND, type UpstreamCall } from '../connectors/upstream-call.js';
import { perRequest, type QuiltContext } from '../request-context/context.js';
import type { CompositionModel } from './model.js';
import { type SelectedField, selectedFields } from './selection.js';

type Obj = Record<string, unknown>;

export interface EntityLookup {
  readonly source: SourceFile;
  readonly keyField: string;
  /** Loads this source's view of each object and copies the `copy` keys into it. */
  complete(objects: Obj[], copy: readonly string[], ctx: QuiltContext, info: GraphQLResolveInfo): Promise<void>;
  /** This source's object for a key (null when it has none), when it can be used as it is. */
  load?(key: string, ctx: QuiltContext): Promise<unknown>;
}

/** A lookup through a field marked @merge that makes an upstream call: one call per batch of keys. */
export class CallEntityLookup implements EntityLookup {
  constructor(
    /** Names this lookup's per-request loader. */
    private readonly id: string,
    readonly source: SourceFile,
    readonly keyField: string,
    private readonly call: UpstreamCall,
    private readonly keyArg: string,
    /** True when the merge field takes a list of keys; false: one call per key. */
    private readonly batched: boolean,
    private readonly maxBatchSize: number,
    /** Reads the key back from a returned object (honours @from on the key field). */
    private readonly readKey: (raw: unknown) => unknown,
  ) {}

  #loader(ctx: QuiltContext): DataLoader<string, unknown> {
    return perRequest(
      ctx,
      this.id,
      () => new DataLoader<string, unknown>((keys) => this.#fetch(keys, ctx), { maxBatchSize: this.maxBatchSize }),
    );
  }

  load(key: string, ctx: QuiltContext): Promise<unknown> {
    return this.#loader(ctx).load(key);
  }

  complete(objects: Obj[], copy: readonly string[], ctx: QuiltContext): Promise<void> {
    const loader = this.#loader(ctx);
    // The common case, one object entering the result (a field returning one entity).
    if (objects.length === 1) {
      const key = objects[0][this.keyField];
      if (key === undefined || key === null) return Promise.resolve();
      return loader.load(String(key)).then(
        (raw) => copyInto(objects[0], raw, copy),
        (error: Error) => copyInto(objects[0], error, copy),
      );
    }
    return this.#completeMany(loader, objects, copy);
  }

  async #completeMany(loader: DataLoader<string, unknown>, objects: Obj[], copy: readonly string[]): Promise<void> {
    const keys: string[] = [];
    const targets: Obj[] = [];
    for (const obj of objects) {
      const key = obj[this.keyField];
      if (key === undefined || key === null) continue;
      keys.push(String(key));
      targets.push(obj);
    }
    const results = await loader.loadMany(keys);
    for (let i = 0; i < targets.length; i++) copyInto(targets[i], results[i], copy);
  }

  async #fetch(keys: readonly string[], ctx: QuiltContext): Promise<unknown[]> {
    const scope = { jwt: ctx.jwt, headers: ctx.headers };
    if (!this.batched) {
      return Promise.all(
        keys.map(async (key) => {
          const raw = await this.call.run({ ...scope, args: { [this.keyArg]: key } }, ctx).catch((e: Error) => e);
          return raw === NOT_FOUND ? null : raw;
        }),
      );
    }
    const raw = await this.call.run({ ...scope, args: { [this.keyArg]: keys } }, ctx);
    const byKey = new Map<string, unknown>();
    if (Array.isArray(raw)) {
      for (const item of raw) {
        const key = this.readKey(item);
        if (key !== undefined && key !== null && !byKey.has(String(key))) byKey.set(String(key), item);
      }
    }
    return keys.map((k) => byKey.get(k) ?? null);
  }
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
  ) {}

  isEntity(typeName: string): boolean {
    return (this.lookups.get(typeName)?.size ?? 0) > 0;
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
    // Plans by selection: selectedFields returns the same array for the same document.
    const plans = new WeakMap<readonly SelectedField[], PlanStep[]>();
    const complete = (value: unknown, ctx: QuiltContext, info: GraphQLResolveInfo): unknown => {
      if (value === null || value === undefined || value instanceof Error) return value;
      const selected = selectedFields(info, typeName);
      let steps = plans.get(selected);
      if (!steps) plans.set(selected, (steps = this.#plan(typeName, origin, selected)));
      // A source may refer to an entity by its key alone (`sellerId: "7"`). When one other
      // source supplies the rest, its object is the entity: no copy, one promise per key.
      if (isKey(value) && steps.length === 1 && steps[0].lookup.load) return steps[0].lookup.load(String(value), ctx);
      const normalized = keyField ? asObjects(value, keyField) : value;
      return this.#run(normalized, steps, ctx, info);
    };
    return (parent, args, ctx, info) => {
      const value = resolver(parent, args, ctx, info);
      if (value instanceof Promise) return value.then((v) => complete(v, ctx, info));
      return complete(value, ctx, info);
    };
  }

  #run(normalized: unknown, steps: PlanStep[], ctx: QuiltContext, info: GraphQLResolveInfo): unknown {
    if (steps.length === 0) return normalized;
    const objects: Obj[] = [];
    flatten(normalized, objects);
    if (objects.length === 0) return normalized;
    if (steps.length === 1) return steps[0].lookup.complete(objects, steps[0].copy, ctx, info).then(() => normalized);
    return Promise.all(steps.map((s) => s.lookup.complete(objects, s.copy, ctx, info))).then(() => normalized);
  }

  #plan(typeName: string, origin: SourceFile, selected: readonly SelectedField[]): PlanStep[] {
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
      const key = owner.source.upstream.protocol === 'GRAPHQL' ? responseKey : (owner.from?.[0] ?? fieldName);
      if (!step.copy.includes(key)) step.copy.push(key);
    };
    for (const { name, responseKey } of selected) {
      if (name === '__typename') continue;
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

function asObjects(value: unknown, keyField: string): unknown {
  if (Array.isArray(value)) return value.map((v) => asObjects(v, keyField));
  if (isKey(value)) return { [keyField]: value };
  return value;
}

function flatten(value: unknown, out: Obj[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else if (value !== null && typeof value === 'object' && !(value instanceof Error)) out.push(value as Obj);
}
