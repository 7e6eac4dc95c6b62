// `@from(path: "key")` on an input field: the JSON key that field is sent as, for upstream
// keys that are not GraphQL names ("$ref", "x-kind", "page[size]"). Arguments are renamed
// before the call's templates see them, so `body: "{args.input}"` sends the upstream's keys.
// Only input types with a renamed field (directly or nested) cost anything: for the others no
// renamer is made. One key per field (`key:`, or a `path:` of one step): an input field's
// value is written, not read, so a dotted path has nothing to address.
import {
  type DocumentNode,
  type InputObjectTypeDefinitionNode,
  type InputValueDefinitionNode,
  Kind,
  type TypeNode,
} from 'graphql';
import { readDirective } from '../config/directives.js';
import type { ProblemList } from '../config/problems.js';
import { type FieldModel, namedTypeOf } from './model.js';

type Renamer = (value: unknown) => unknown;
type Args = Record<string, unknown>;

interface InputFields {
  /** GraphQL name -> [JSON key, the field's type]. */
  fields: Map<string, { key: string; type: TypeNode }>;
}

export class InputKeys {
  readonly #types = new Map<string, InputFields>();
  /** Input types with a renamed field, directly or in a field's type. */
  readonly #renamed = new Set<string>();
  readonly #renamers = new Map<string, Renamer>();

  constructor(documents: { file: string; document: DocumentNode }[], problems: ProblemList) {
    for (const { file, document } of documents) {
      for (const def of document.definitions) {
        if (def.kind !== Kind.INPUT_OBJECT_TYPE_DEFINITION && def.kind !== Kind.INPUT_OBJECT_TYPE_EXTENSION) continue;
        const entry = this.#types.get(def.name.value) ?? { fields: new Map() };
        this.#types.set(def.name.value, entry);
        for (const field of (def as InputObjectTypeDefinitionNode).fields ?? []) {
          const key = keyOf(field, file, problems);
          entry.fields.set(field.name.value, { key, type: field.type });
          if (key !== field.name.value) this.#renamed.add(def.name.value);
        }
      }
    }
    // Then every type that holds one of those, to a fixed point (input types may recurse).
    for (let grew = this.#renamed.size > 0; grew; ) {
      grew = false;
      for (const [name, { fields }] of this.#types) {
        if (this.#renamed.has(name)) continue;
        if ([...fields.values()].some((f) => this.#renamed.has(namedTypeOf(f.type)))) {
          this.#renamed.add(name);
          grew = true;
        }
      }
    }
  }

  /** The arguments of `field` as its upstream spells them, or undefined when none is renamed. */
  argsRenamer(field: FieldModel): ((args: Args) => Args) | undefined {
    const renamed = (field.node.arguments ?? [])
      .filter((arg) => this.#renamed.has(namedTypeOf(arg.type)))
      .map((arg) => [arg.name.value, this.#renamer(namedTypeOf(arg.type))] as const);
    if (!renamed.length) return undefined;
    return (args) => {
      const out = { ...args };
      for (const [name, rename] of renamed) if (out[name] != null) out[name] = rename(out[name]);
      return out;
    };
  }

  #renamer(name: string): Renamer {
    const known = this.#renamers.get(name);
    if (known) return known;
    const fields = [...this.#types.get(name)!.fields].map(([field, { key, type }]) => {
      const inner = namedTypeOf(type);
      return { field, key, inner: this.#renamed.has(inner) ? inner : undefined };
    });
    const rename: Renamer = (value) => {
      if (Array.isArray(value)) return value.map(rename);
      if (value === null || typeof value !== 'object') return value;
      const out: Record<string, unknown> = {};
      for (const { field, key, inner } of fields) {
        const v = (value as Record<string, unknown>)[field];
        // Looked up on use: a recursive type's renamer is made before its own fields need it.
        if (v !== undefined) out[key] = inner && v !== null ? this.#renamer(inner)(v) : v;
      }
      return out;
    };
    this.#renamers.set(name, rename);
    return rename;
  }
}

function keyOf(field: InputValueDefinitionNode, file: string, problems: ProblemList): string {
  const from = field.directives?.find((d) => d.name.value === 'from');
  if (!from) return field.name.value;
  const { path, key } = readDirective(from) as { path?: string; key?: string };
  if (key !== undefined && path === undefined) return key;
  if (path !== undefined && key === undefined && path !== '' && !path.includes('.')) return path;
  problems.at(
    from,
    file,
    `@from on the input field ${field.name.value} names one JSON key (key: "a.b", or path: without "."); received ${path !== undefined && key !== undefined ? 'both' : `path: "${path ?? ''}"`}`,
  );
  return field.name.value;
}
