// Composition checks that need every source at once; each problem names file:line:column.
import type { ASTNode } from 'graphql';
import type { ProblemList } from '../config/problems.js';
import { type Placeholder, parseTemplate, placeholdersOf } from '../templates/placeholders.js';
import { jsonPlaceholders } from '../templates/render.js';
import {
  type CompositionModel,
  callDirectiveNode,
  callOf,
  type FieldModel,
  isListType,
  namedTypeOf,
  selectionFieldNames,
  typeText,
} from './model.js';

const ROOT_TYPES = new Set(['Query', 'Mutation']);

/** Every placeholder in a field's call templates (@http or @grpc). */
export function callPlaceholders(field: FieldModel): Placeholder[] {
  const call = callOf(field);
  if (!call) return [];
  const key = call.key ? placeholdersOf(parseTemplate(call.key)) : [];
  if (field.grpc) return [...jsonPlaceholders(field.grpc.request), ...key];
  const http = field.http!;
  return [
    ...placeholdersOf(parseTemplate(http.url)),
    ...jsonPlaceholders(http.body),
    ...http.headers.flatMap((h) => placeholdersOf(parseTemplate(h.value))),
    ...key,
  ];
}

export function checkModel(model: CompositionModel, problems: ProblemList): void {
  for (const type of model.types.values()) {
    for (const [fieldName, owners] of type.fields) {
      for (const field of owners) checkField(model, field, problems);
      checkAgreement(type.name, fieldName, owners, problems);
    }
  }
  checkReachability(model, problems);
}

function checkField(model: CompositionModel, field: FieldModel, problems: ProblemList): void {
  const { source, node } = field;
  const where = `${field.typeName}.${field.name}`;
  const protocol = source.upstream.protocol;
  const directive = protocol === 'GRPC' ? '@grpc' : '@http';
  if (field.http && protocol !== 'HTTP')
    problems.at(node, source.file, `${where}: @http belongs in an HTTP source; this file's upstream is ${protocol}`);
  if (field.grpc && protocol !== 'GRPC')
    problems.at(node, source.file, `${where}: @grpc belongs in a GRPC source; this file's upstream is ${protocol}`);
  if (protocol !== 'GRAPHQL' && ROOT_TYPES.has(field.typeName) && !callOf(field)) {
    problems.at(
      node,
      source.file,
      `${where} has no ${directive}: every ${field.typeName} field of an ${protocol} source says which call it makes`,
    );
  }
  if (field.merge) checkMerge(model, field, node.directives?.find((d) => d.name.value === 'merge') ?? node, problems);
  const call = callOf(field);
  if (!call) return;
  const at = callDirectiveNode(field);
  if (Boolean(call.key) !== Boolean(call.match))
    problems.at(at, source.file, `${where}: ${directive}(key:) and ${directive}(match:) go together; one is missing`);
  if (call.pick !== undefined && !call.key)
    problems.at(
      at,
      source.file,
      `${where}: ${directive}(pick:) reads a batched reply; it needs key: and match: (without them, result: picks the value)`,
    );
  const args = new Set(node.arguments?.map((a) => a.name.value));
  const parentFields = model.types.get(field.typeName)?.fields;
  for (const p of callPlaceholders(field)) {
    if (p.root === 'args' && !args.has(p.path[0])) {
      problems.at(
        at,
        source.file,
        `${where}: template ${p.text} names argument "${p.path[0]}", which ${where} does not have (arguments: ${[...args].join(', ') || 'none'})`,
      );
    }
    if (p.root === 'parent' && ROOT_TYPES.has(field.typeName))
      problems.at(at, source.file, `${where}: ${p.text} has no parent on a root field`);
    else if (p.root === 'parent' && !parentFields?.has(p.path[0])) {
      problems.at(
        at,
        source.file,
        `${where}: template ${p.text} names field "${p.path[0]}", which type ${field.typeName} does not have`,
      );
    }
    if (p.root === 'keys' && !call.key)
      problems.at(at, source.file, `${where}: {keys} needs ${directive}(key:) to say what each parent contributes`);
  }
}

function checkMerge(model: CompositionModel, field: FieldModel, at: ASTNode, problems: ProblemList): void {
  const where = `${field.typeName}.${field.name}`;
  const target = model.types.get(namedTypeOf(field.node.type));
  const def = target?.definedBy.get(field.source);
  if (!target || !def) {
    problems.at(at, field.source.file, `${where}: @merge must return an object type defined in the same file`);
    return;
  }
  const keyField = mergeKeyField(field, def.keySelection);
  if (!keyField) {
    problems.at(
      at,
      field.source.file,
      `${where}: @merge needs keyField:, or @key(selectionSet:) with one field on type ${target.name} in this file`,
    );
  } else if (!target.fields.get(keyField)?.some((f) => f.source === field.source)) {
    problems.at(
      at,
      field.source.file,
      `${where}: @merge key "${keyField}" is not a field of ${target.name} in this file`,
    );
  }
  const args = field.node.arguments ?? [];
  const keyArg = field.merge?.keyArg ?? (args.length === 1 ? args[0].name.value : undefined);
  if (!keyArg || !args.some((a) => a.name.value === keyArg)) {
    problems.at(
      at,
      field.source.file,
      `${where}: @merge needs keyArg: naming the argument that takes the keys (arguments: ${args.map((a) => a.name.value).join(', ') || 'none'})`,
    );
  }
}

export function mergeKeyField(field: FieldModel, keySelection: string | undefined): string | undefined {
  if (field.merge?.keyField) return field.merge.keyField;
  const names = keySelection ? selectionFieldNames(keySelection) : [];
  return names.length === 1 ? names[0] : undefined;
}

/** The same field in several sources must agree on its type (unless one is @canonical) and mapping. */
function checkAgreement(typeName: string, fieldName: string, owners: FieldModel[], problems: ProblemList): void {
  if (owners.length < 2) return;
  const canonical = owners.filter((o) => o.canonical);
  if (canonical.length > 1)
    problems.at(
      canonical[1].node,
      canonical[1].source.file,
      `${typeName}.${fieldName} is @canonical in more than one file`,
    );
  if (canonical.length === 0) {
    const first = owners[0];
    for (const other of owners.slice(1)) {
      if (typeText(other.node.type) !== typeText(first.node.type)) {
        problems.at(
          other.node.type,
          other.source.file,
          `${typeName}.${fieldName} is ${typeText(other.node.type)} here but ${typeText(first.node.type)} in ${first.source.file}; make them agree or mark one @canonical`,
        );
      }
    }
  }
  const resolvers = owners.filter((o) => callOf(o));
  if (resolvers.length > 1)
    problems.at(
      resolvers[1].node,
      resolvers[1].source.file,
      `${typeName}.${fieldName} makes an upstream call in more than one file`,
    );
  // Each source maps its own JSON onto the field (@from): different paths are fine
  // (field-mapping.ts normalizes them where objects enter the result).
}

/** A field only another source has must be loadable for objects of the source returning them. */
function checkReachability(model: CompositionModel, problems: ProblemList): void {
  for (const type of model.types.values()) {
    if (type.definedBy.size < 2 || ROOT_TYPES.has(type.name)) continue;
    const lookupSources = new Set(
      [...(model.types.get('Query')?.fields.values() ?? [])]
        .flat()
        .filter((f) => f.merge && namedTypeOf(f.node.type) === type.name)
        .map((f) => f.source),
    );
    for (const [fieldName, owners] of type.fields) {
      if (owners.some((o) => callOf(o))) continue;
      if (owners.some((o) => lookupSources.has(o.source))) continue;
      const missing = [...type.definedBy.keys()].filter((s) => !owners.some((o) => o.source === s));
      if (missing.length === 0) continue;
      const f = owners[0];
      problems.at(
        f.node,
        f.source.file,
        `${type.name}.${fieldName} comes only from ${f.source.file}, which has no @merge lookup for ${type.name}, so a ${type.name} from ${missing[0].file} cannot get it`,
      );
    }
  }
}

export function isListField(field: FieldModel): boolean {
  return isListType(field.node.type);
}
