// The lookups of entities by key: every Query field marked @merge on a type that several
// sources define, as the owning source's CallEntityLookup (or a remote GraphQL source's
// delegating lookup), and the parent fields each resolver needs fetched first.
import type { SourceFile } from '../config/load-folder.js';
import { batchReplyReader } from './batch-replies.js';
import { callPlaceholders, mergeKeyField } from './checks.js';
import type { CallCompiler } from './compile-calls.js';
import { CallEntityLookup, type EntityLookup } from './entities.js';
import type { FieldMapping } from './field-mapping.js';
import { type CompositionModel, callOf, isListType, namedTypeOf, selectionFieldNames } from './model.js';
import type { RemoteSource } from './remote-source.js';

/** typeName -> owning source -> its lookup. */
export type EntityLookups = Map<string, Map<SourceFile, EntityLookup>>;

export function buildLookups(
  model: CompositionModel,
  calls: CallCompiler,
  remotes: Map<SourceFile, RemoteSource>,
  mapping: FieldMapping,
): EntityLookups {
  const lookups = new Map<string, Map<SourceFile, EntityLookup>>();
  for (const field of [...(model.types.get('Query')?.fields.values() ?? [])].flat()) {
    if (!field.merge) continue;
    const typeName = namedTypeOf(field.node.type);
    const type = model.types.get(typeName)!;
    if (type.definedBy.size < 2) continue;
    const keyField = mergeKeyField(field, type.definedBy.get(field.source)?.keySelection)!;
    const args = field.node.arguments ?? [];
    const keyArg = field.merge.keyArg ?? args[0].name.value;
    const batched = isListType(field.node.type);
    let lookup: EntityLookup;
    const remote = remotes.get(field.source);
    if (remote) {
      lookup = remote.lookup(field, keyField, keyArg, batched);
    } else {
      const keyPath = mapping.pathIn(typeName, keyField, field.source).join('.');
      lookup = new CallEntityLookup({
        id: `lookup:${field.source.file}:${field.name}`,
        source: field.source,
        keyField,
        call: calls.compile(field),
        keyArg,
        batched,
        maxBatchSize: callOf(field)!.maxBatchSize,
        recordBatch: batched ? calls.batchRecorder(field) : undefined,
        readReply: batchReplyReader(field.merge.match ?? keyPath, field.merge.pick, false),
        pick: field.merge.pick?.split('.'),
        renames: mapping.renamesOf(typeName, field.source),
      });
    }
    let byType = lookups.get(typeName);
    if (!byType) lookups.set(typeName, (byType = new Map()));
    if (!byType.has(field.source)) byType.set(field.source, lookup);
  }
  return lookups;
}

export /** Parent fields a resolver reads: {parent.x} in its templates and @computed(selectionSet:). */
function requiredParentFields(model: CompositionModel): Map<string, string[]> {
  const required = new Map<string, string[]>();
  for (const type of model.types.values()) {
    for (const [fieldName, owners] of type.fields) {
      const field = owners.find((o) => callOf(o));
      if (!field) continue;
      const names = new Set(
        callPlaceholders(field)
          .filter((p) => p.root === 'parent')
          .map((p) => p.path[0]),
      );
      for (const owner of owners)
        for (const n of owner.computed ? selectionFieldNames(owner.computed) : []) names.add(n);
      required.set(`${type.name}.${fieldName}`, [...names]);
    }
  }
  return required;
}
