// Why a directive argument's value does not fit its declared type, down to the innermost
// setting: `balance.algorithm expected one of ROUND_ROBIN, ...; received FASTEST` rather than
// "expected QuiltBalance". graphql-js's valueFromAST only says that it does not fit.
import {
  type GraphQLInputType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  type ObjectFieldNode,
  print,
  type ValueNode,
  valueFromAST,
} from 'graphql';
import { inspect } from 'graphql/jsutils/inspect.js';

export interface ValueMismatch {
  /** The setting inside the argument, e.g. "balance.algorithm"; the argument itself at the top. */
  path: string;
  /** Where to point: the offending value, or the misspelt setting's name. */
  node: ValueNode | ObjectFieldNode;
  expected: string;
  received: string;
}

export function valueMismatch(node: ValueNode, type: GraphQLInputType, path: string): ValueMismatch | undefined {
  // valueFromAST ignores fields an input object does not define: a misspelt setting would
  // be silently dropped, so unknown names are looked for first.
  const unknown = unknownSetting(node, type, path);
  if (unknown) return unknown;
  if (valueFromAST(node, type) !== undefined) return undefined;
  const nullable = getNullableType(type);
  if (node.kind === Kind.NULL && isNonNullType(type))
    return { path, node, expected: `a value (${inspect(type)})`, received: 'null' };
  if (isInputObjectType(nullable) && node.kind === Kind.OBJECT) {
    const fields = nullable.getFields();
    for (const field of node.fields) {
      const def = fields[field.name.value];
      const inner = valueMismatch(field.value, def.type, `${path}.${field.name.value}`);
      if (inner) return inner;
    }
    const missing = Object.values(fields).find(
      (f) => isNonNullType(f.type) && f.defaultValue === undefined && !node.fields.some((x) => x.name.value === f.name),
    );
    if (missing)
      return {
        path: `${path}.${missing.name}`,
        node,
        expected: `a value (${inspect(missing.type)})`,
        received: 'nothing',
      };
  }
  if (isListType(nullable) && node.kind === Kind.LIST) {
    for (const [i, item] of node.values.entries()) {
      const inner = valueMismatch(item, nullable.ofType, `${path}[${i}]`);
      if (inner) return inner;
    }
  }
  const expected = isEnumType(nullable)
    ? `one of ${nullable
        .getValues()
        .map((v) => v.name)
        .join(', ')}`
    : inspect(type);
  return { path, node, expected, received: print(node) };
}

function unknownSetting(node: ValueNode, type: GraphQLInputType, path: string): ValueMismatch | undefined {
  const nullable = getNullableType(type);
  if (isListType(nullable) && node.kind === Kind.LIST) {
    for (const [i, item] of node.values.entries()) {
      const inner = unknownSetting(item, nullable.ofType, `${path}[${i}]`);
      if (inner) return inner;
    }
  }
  if (!isInputObjectType(nullable) || node.kind !== Kind.OBJECT) return undefined;
  const fields = nullable.getFields();
  for (const field of node.fields) {
    const def = fields[field.name.value];
    const at = `${path}.${field.name.value}`;
    if (!def)
      return {
        path: at,
        node: field,
        expected: `one of the settings ${Object.keys(fields).join(', ')}`,
        received: field.name.value,
      };
    const inner = unknownSetting(field.value, def.type, at);
    if (inner) return inner;
  }
  return undefined;
}
