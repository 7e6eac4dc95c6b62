// The GraphQL definitions the importer builds (schema-types.ts) and prints (render.ts).

export interface Field {
  name: string;
  type: string;
  /** The JSON key when it differs from name. */
  from?: string;
  description?: string;
}

export interface ObjectDef {
  kind: 'type' | 'interface' | 'input';
  name: string;
  fields: Field[];
  implements?: string[];
  description?: string;
  discriminator?: Discriminator;
}

export interface Discriminator {
  field: string;
  types: { value: string; type: string }[];
}

export interface EnumDef {
  name: string;
  values: { name: string; value: string }[];
}

export interface UnionDef {
  name: string;
  members: string[];
  discriminator: Discriminator;
}

/** `leftOut`: the part is not in the file; otherwise it is, in a looser form (JSON). */
export type Reporter = (where: string, message: string, leftOut?: boolean) => void;
