// JSON Schemas of an OpenAPI document as GraphQL types (README, "Importing an OpenAPI
// document"). Component schemas become named types; inline ones are named after where they
// are used. An object is an output type and, where a request body or argument needs it, an
// input type (readOnly properties left out of inputs, writeOnly ones out of outputs).
// `required` without `nullable` is non-null. Enums are GraphQL enums (@enumValue where the
// value is not a GraphQL name). oneOf/anyOf of objects with a discriminator is a union with
// @discriminator; a schema whose discriminator its allOf-children extend is an interface they
// implement; allOf is merged. What GraphQL cannot type (free-form objects, a oneOf without a
// discriminator, a union of scalars, an object as an input union) is the JSON scalar: the
// value passes through as the upstream sent it, and the report says so.

import { conformToInterface, discriminatorTypes } from './discriminators.js';
import { hasProperties, isNullable, isStringEnum, mergeAllOf, type Schema, scalarOf, typeOf } from './json-schema.js';
import { enumValueName, fieldName, NameRegistry, pointer, typeName } from './names.js';
import type { EnumDef, Field, ObjectDef, Reporter, UnionDef } from './type-defs.js';

export type { Schema };

/** Output and input types of one document, built as operations ask for them. */
export class SchemaTypes {
  readonly objects = new Map<string, ObjectDef>();
  readonly enums = new Map<string, EnumDef>();
  readonly unions = new Map<string, UnionDef>();
  usesJson = false;
  readonly #names = new NameRegistry();
  /** schema object -> its component name (identity survives dereferencing). */
  readonly #components: Map<Schema, string>;
  /** schema -> the GraphQL names given to it, per role. */
  readonly #named = new Map<Schema, { output?: string; input?: string; enum?: string }>();
  readonly #refNames: Map<Schema, string>;
  /** base schema -> the components that extend it with allOf. */
  readonly #children = new Map<Schema, Schema[]>();

  constructor(
    components: Record<string, Schema>,
    /** "#/components/schemas" or "#/definitions". */
    private readonly componentsAt: string[],
    private readonly report: Reporter,
    /** Names of schemas in other files, by the $refs that reach them. */
    refNames: Map<Schema, string> = new Map(),
  ) {
    const sorted = Object.keys(components).sort();
    this.#components = new Map(sorted.map((name) => [components[name], name]));
    this.#refNames = refNames;
    for (const name of sorted) {
      for (const part of components[name]?.allOf ?? []) {
        // A base that is itself a oneOf of its children is a union (below), not an interface.
        if (part?.discriminator && this.#components.has(part) && !part.oneOf && !part.anyOf) {
          const list = this.#children.get(part) ?? [];
          list.push(components[name]);
          this.#children.set(part, list);
        }
      }
    }
  }

  /** The GraphQL type (with list and non-null marks) a value of `schema` is returned as. */
  output(schema: Schema | undefined, context: string, where: string, required = true): string {
    return this.#wrap(
      schema,
      required,
      where,
      (s, w) => this.#outputNamed(s, context, w),
      (items, w) => this.output(items, `${context}Item`, w, true),
    );
  }

  /** The GraphQL input type of a value of `schema` sent upstream. */
  input(schema: Schema | undefined, context: string, where: string, required = true): string {
    return this.#wrap(
      schema,
      required,
      where,
      (s, w) => this.#inputNamed(s, context, w),
      (items, w) => this.input(items, `${context}Item`, w, true),
    );
  }

  #wrap(
    schema: Schema | undefined,
    required: boolean,
    where: string,
    named: (schema: Schema, where: string) => string,
    item: (items: Schema | undefined, where: string) => string,
  ): string {
    if (!schema || typeof schema !== 'object') return this.#json();
    const at = this.#where(schema, where);
    const bang = required && !isNullable(schema) ? '!' : '';
    if (typeOf(schema) === 'array') return `[${item(schema.items, `${at}/items`)}]${bang}`;
    return `${named(schema, at)}${bang}`;
  }

  /** A component's own pointer; an inline schema's is where it is used. */
  #where(schema: Schema, where: string): string {
    const component = this.#components.get(schema);
    return component === undefined ? where : pointer(...this.componentsAt, component);
  }

  #json(): string {
    this.usesJson = true;
    return 'JSON';
  }

  #outputNamed(schema: Schema, context: string, where: string): string {
    const scalar = scalarOf(schema);
    if (scalar) return scalar === 'JSON' ? this.#json() : scalar;
    if (isStringEnum(schema)) return this.#enum(schema, context);
    if (schema.oneOf || schema.anyOf) return this.#union(schema, context, where);
    if (this.#children.has(schema)) return this.#interface(schema, context, where);
    const merged = mergeAllOf(schema);
    if (!hasProperties(merged)) return this.#json();
    const known = this.#named.get(schema)?.output;
    if (known) return known;
    const name = this.#claim(schema, context, 'output', '');
    const def: ObjectDef = { kind: 'type', name, fields: [], description: schema.description };
    this.objects.set(name, def);
    def.fields = this.#fields(merged, name, 'output', where);
    if (def.fields.length === 0) return this.#dropEmpty(schema, def);
    const bases = (schema.allOf ?? []).filter((p: Schema) => this.#children.has(p));
    if (bases.length) def.implements = bases.map((p: Schema) => this.#interface(p, context, where));
    return name;
  }

  #inputNamed(schema: Schema, context: string, where: string): string {
    const scalar = scalarOf(schema);
    if (scalar) return scalar === 'JSON' ? this.#json() : scalar;
    if (isStringEnum(schema)) return this.#enum(schema, context);
    if (schema.oneOf || schema.anyOf) {
      const kind = schema.oneOf ? 'a oneOf' : 'an anyOf';
      this.report(
        where,
        `${kind} in an input is the JSON scalar (GraphQL inputs have no unions): sent as the client wrote it`,
      );
      return this.#json();
    }
    const merged = mergeAllOf(schema);
    if (!hasProperties(merged)) return this.#json();
    const known = this.#named.get(schema)?.input;
    if (known) return known;
    const name = this.#claim(schema, context, 'input', 'Input');
    const def: ObjectDef = { kind: 'input', name, fields: [], description: schema.description };
    this.objects.set(name, def);
    def.fields = this.#fields(merged, name, 'input', where);
    if (def.fields.length === 0) return this.#dropEmpty(schema, def);
    return name;
  }

  /**
   * GraphQL types need a field: an object whose properties are all readOnly (as an input) or
   * writeOnly (as an output), or none addressable, is free-form. No field can refer to it yet:
   * it has none, so nothing was reached through it.
   */
  #dropEmpty(schema: Schema, def: ObjectDef): string {
    this.objects.delete(def.name);
    this.#named.get(schema)![def.kind === 'input' ? 'input' : 'output'] = 'JSON';
    return this.#json();
  }

  #fields(merged: Schema, owner: string, role: 'output' | 'input', where: string): Field[] {
    const names = new NameRegistry();
    const required = new Set<string>(merged.required ?? []);
    const fields: Field[] = [];
    for (const key of Object.keys(merged.properties ?? {}).sort()) {
      const prop = merged.properties[key] as Schema;
      if (role === 'input' && prop?.readOnly) continue;
      if (role === 'output' && prop?.writeOnly) continue;
      const at = `${where}/properties/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (key === '') {
        this.report(at, 'a property named "" has no GraphQL field', true);
        continue;
      }
      const name = names.claim(fieldName(key));
      const context = `${owner.replace(/Input$/, '')}${typeName(key)}`;
      const type =
        role === 'output'
          ? this.output(prop, context, at, required.has(key))
          : this.input(prop, context, at, required.has(key));
      fields.push({ name, type, from: name === key ? undefined : key, description: prop?.description });
    }
    return fields;
  }

  #enum(schema: Schema, context: string): string {
    const known = this.#named.get(schema)?.enum;
    if (known) return known;
    const name = this.#claim(schema, context, 'enum', '');
    const values = new NameRegistry();
    const seen = new Set<string>();
    const defs: EnumDef['values'] = [];
    for (const raw of schema.enum as unknown[]) {
      if (typeof raw !== 'string' || seen.has(raw)) continue;
      seen.add(raw);
      defs.push({ name: values.claim(enumValueName(raw)), value: raw });
    }
    this.enums.set(name, { name, values: defs });
    return name;
  }

  #union(schema: Schema, context: string, where: string): string {
    const options: Schema[] = (schema.oneOf ?? schema.anyOf).filter((o: Schema) => o && typeOf(o) !== 'null');
    const kind = schema.oneOf ? 'oneOf' : 'anyOf';
    const article = schema.oneOf ? 'a' : 'an';
    const disc = schema.discriminator;
    if (options.length === 1) return this.output(options[0], context, `${where}/${kind}/0`, false);
    const objects = options.every(
      (o) => hasProperties(mergeAllOf(o)) && !o.oneOf && !o.anyOf && !this.#children.has(o),
    );
    if (!disc?.propertyName || !objects) {
      const why = !disc?.propertyName
        ? `${article} ${kind} without a discriminator cannot be told apart by __typename`
        : `${article} ${kind} whose members are not all object types`;
      this.report(where, `${why}: served as the JSON scalar`);
      return this.#json();
    }
    const known = this.#named.get(schema)?.output;
    if (known) return known;
    const name = this.#claim(schema, context, 'output', '');
    const union: UnionDef = { name, members: [], discriminator: { field: disc.propertyName, types: [] } };
    this.unions.set(name, union);
    const members = options.map((o, i) =>
      this.#outputNamed(o, `${name}Option${i + 1}`, this.#where(o, `${where}/${kind}/${i}`)),
    );
    union.members = [...new Set(members)];
    union.discriminator.types = this.#mapping(disc, options, members, where);
    return name;
  }

  #interface(base: Schema, context: string, where: string): string {
    const known = this.#named.get(base)?.output;
    if (known) return known;
    const name = this.#claim(base, context, 'output', '');
    const at = this.#where(base, where);
    const def: ObjectDef = { kind: 'interface', name, fields: [], description: base.description };
    this.objects.set(name, def);
    def.fields = this.#fields(mergeAllOf(base), name, 'output', at);
    const children = this.#children.get(base)!;
    const members = children.map((c) => this.#outputNamed(c, `${name}Child`, at));
    for (const member of members) conformToInterface(this.objects.get(member), def);
    def.discriminator = {
      field: base.discriminator.propertyName,
      types: this.#mapping(base.discriminator, children, members, at),
    };
    return name;
  }

  /** The discriminator's values for the members, by mapping or by each member's schema name. */
  #mapping(disc: Schema, options: Schema[], members: string[], where: string) {
    const names = options.map((o) => this.#components.get(o) ?? this.#refNames.get(o));
    return discriminatorTypes(disc, options, names, members, where, this.report);
  }

  #claim(schema: Schema, context: string, role: 'output' | 'input' | 'enum', suffix: string): string {
    const component = this.#components.get(schema) ?? this.#refNames.get(schema);
    const name = this.#names.claim(`${typeName(component ?? schema.title ?? context)}${suffix}`);
    const entry = this.#named.get(schema) ?? {};
    entry[role] = name;
    this.#named.set(schema, entry);
    return name;
  }
}
