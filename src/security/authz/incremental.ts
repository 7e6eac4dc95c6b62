// @defer and @stream under authorization: the labels that tie each later payload part to the
// selections it came from. The rewriter (rewrite.ts) labels every deferred fragment and
// streamed field of a document it rewrites and records the client's own selections under the
// label; the patcher (patch.ts) patches each part from them and gives the client back its own
// label, or none.
import {
  type ArgumentNode,
  type DirectiveNode,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLOutputType,
  Kind,
  type SelectionNode,
} from 'graphql';

/** A deferred fragment as the client wrote it: what its payload must hold. */
export interface DeferredPart {
  selections: readonly SelectionNode[];
  /** The fragment's type condition, or the type it was written in. */
  context: GraphQLCompositeType;
  /** The client's label; undefined when the label is ours. */
  clientLabel?: string;
}

/** A streamed field as the client wrote it: what each streamed item must hold. */
export interface StreamedPart {
  nodes: FieldNode[];
  itemType: GraphQLOutputType;
  clientLabel?: string;
}

/** The labelled @defer fragments and @stream fields of a rewritten operation. */
export interface IncrementalParts {
  deferred: Map<string, DeferredPart>;
  streamed: Map<string, StreamedPart>;
}

/** The directive with a label: the client's, else `newLabel()` (one no client label can equal). */
export function labelled(
  directive: DirectiveNode,
  newLabel: () => string,
): { label: string; clientLabel?: string; directive: DirectiveNode } {
  const given = directive.arguments?.find((a) => a.name.value === 'label');
  if (given?.value.kind === Kind.STRING) return { label: given.value.value, clientLabel: given.value.value, directive };
  const label = newLabel();
  const argument: ArgumentNode = {
    kind: Kind.ARGUMENT,
    name: { kind: Kind.NAME, value: 'label' },
    value: { kind: Kind.STRING, value: label },
  };
  return { label, directive: { ...directive, arguments: [...(directive.arguments ?? []), argument] } };
}
