// Which JSON key each field reads, per source. Every source maps its own JSON onto a shared
// type: `id: ID! @from(path: "userId")` in one file and plain `id: ID!` in another is the
// same key. A field's resolver reads one path; where the owners of a field agree on it (or
// only one owns it) that path is read as it is, with no per-object work. Where they
// disagree, the resolver reads the field's own name, and objects of a source whose path
// differs get that property set where they enter the result ("renames"), so that the value
// of every source ends up in one place. Keys are then read from the same place, whatever
// source an object came from.

import type { SourceFile } from '../config/load-folder.js';
import { getPath } from '../templates/placeholders.js';
import type { CompositionModel, FieldModel } from './model.js';

export interface Rename {
  field: string;
  path: readonly string[];
}

export type Obj = Record<string, unknown>;

/** The path a field of `owner`'s source is found at in that source's answers. */
export function pathOf(owner: FieldModel): readonly string[] {
  return owner.source.upstream.protocol === 'GRAPHQL' ? [owner.name] : (owner.from ?? [owner.name]);
}

export class FieldMapping {
  /** "Type.field" -> the path its resolver reads, for fields whose owners disagree: [field]. */
  readonly #readPaths = new Map<string, readonly string[]>();
  /** "Type|source file" -> renames of that source's objects of the type. */
  readonly #renames = new Map<string, Rename[]>();

  constructor(private readonly model: CompositionModel) {
    for (const type of model.types.values()) {
      for (const [fieldName, owners] of type.fields) {
        const paths = new Set(owners.map((o) => pathOf(o).join('.')));
        if (paths.size < 2) continue;
        this.#readPaths.set(`${type.name}.${fieldName}`, [fieldName]);
        for (const owner of owners) {
          const path = pathOf(owner);
          if (path.length === 1 && path[0] === fieldName) continue;
          const key = `${type.name}|${owner.source.file}`;
          let list = this.#renames.get(key);
          if (!list) this.#renames.set(key, (list = []));
          list.push({ field: fieldName, path });
        }
      }
    }
  }

  /** The path the resolver of `owner`'s field reads: the owner's own, unless the owners disagree. */
  readPath(owner: FieldModel): readonly string[] {
    return this.#readPaths.get(`${owner.typeName}.${owner.name}`) ?? pathOf(owner);
  }

  /** Where objects of `typeName` hold `fieldName` once they are in the result. */
  resultKey(typeName: string, fieldName: string, source: SourceFile): string {
    if (this.#readPaths.has(`${typeName}.${fieldName}`)) return fieldName;
    const owner = this.model.types
      .get(typeName)
      ?.fields.get(fieldName)
      ?.find((o) => o.source === source);
    return owner ? pathOf(owner)[0] : fieldName;
  }

  /** The path of `fieldName` in `source`'s JSON for `typeName`. */
  pathIn(typeName: string, fieldName: string, source: SourceFile): readonly string[] {
    const owner = this.model.types
      .get(typeName)
      ?.fields.get(fieldName)
      ?.find((o) => o.source === source);
    return owner ? pathOf(owner) : [fieldName];
  }

  renamesOf(typeName: string, source: SourceFile): readonly Rename[] {
    return this.#renames.get(`${typeName}|${source.file}`) ?? NONE;
  }
}

const NONE: readonly Rename[] = [];

/** Sets each renamed field from the source's own path (an object keeps what it already has). */
export function applyRenames(obj: Obj, renames: readonly Rename[]): void {
  for (const r of renames) {
    if (obj[r.field] === undefined) obj[r.field] = r.path.length === 1 ? obj[r.path[0]] : getPath(obj, r.path);
  }
}
