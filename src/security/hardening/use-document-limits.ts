// Depth, alias, token and directive limits per operation, with graphql-armor's rules. Armor
// reports a breach as a code-less GraphQLError titled "Syntax Error: ..."; its onReject hook
// lets each breach become Quilt's coded error instead:
// - depth, aliases, directives are validation rules: the coded error is reported to the
//   validation context (propagateOnRejection off), so yoga answers it like any validation
//   error and the other rules still run;
// - tokens are counted by armor's parser while it lexes, so a huge document is refused before
//   it is fully parsed; the coded error is thrown from onReject, ending the parse.
// Yoga caches parse and validation results by document, so a repeated refusal never reaches
// armor again; rejections are therefore counted from the results, in onResultProcess.

import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { ExecutionResult, GraphQLError, ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type DocumentLimit, documentLimitExceeded } from '../../errors.js';
import type { RejectionCounter } from '../security-metrics.js';

export interface DocumentLimits {
  /** 0: off. */
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
}

const REASON_BY_CODE: Record<string, DocumentLimit> = {
  DEPTH_LIMIT_EXCEEDED: 'depth',
  ALIAS_LIMIT_EXCEEDED: 'aliases',
  TOKEN_LIMIT_EXCEEDED: 'tokens',
  DIRECTIVE_LIMIT_EXCEEDED: 'directives',
};

/** Armor's message without its misleading "Syntax Error: " prefix. */
function messageOf(error: GraphQLError): string {
  return error.message.replace(/^Syntax Error: /, '');
}

function reportAs(limit: DocumentLimit) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    context?.reportError(documentLimitExceeded(limit, messageOf(error)));
  };
}

export function useDocumentLimits(limits: DocumentLimits, count: RejectionCounter): Plugin {
  const common = { exposeLimits: true, propagateOnRejection: false };
  const rules = [
    // Fragments do not add a level: depth is how deeply fields nest. Introspection's __schema
    // is not counted (GraphiQL's introspection query is deep); __type is.
    limits.maxDepth > 0 &&
      maxDepthRule({
        ...common,
        n: limits.maxDepth,
        flattenFragments: true,
        ignoreIntrospection: true,
        onReject: [reportAs('depth')],
      }),
    limits.maxAliases > 0 && maxAliasesRule({ ...common, n: limits.maxAliases, onReject: [reportAs('aliases')] }),
    limits.maxDirectives > 0 &&
      maxDirectivesRule({ ...common, n: limits.maxDirectives, onReject: [reportAs('directives')] }),
  ].filter((rule) => rule !== false);
  const tokens =
    limits.maxTokens > 0 &&
    maxTokensPlugin({
      n: limits.maxTokens,
      exposeLimits: true,
      onReject: [
        (_context, error) => {
          throw documentLimitExceeded('tokens', messageOf(error));
        },
      ],
    });
  return {
    onParse(payload) {
      if (tokens) tokens.onParse!(payload);
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
    onResultProcess({ result }) {
      const seen = new Set<DocumentLimit>();
      for (const single of Array.isArray(result) ? result : [result]) {
        for (const error of (single as ExecutionResult).errors ?? []) {
          const reason = REASON_BY_CODE[String(error.extensions?.code)];
          if (reason) seen.add(reason);
        }
      }
      for (const reason of seen) count(reason);
    },
  };
}
