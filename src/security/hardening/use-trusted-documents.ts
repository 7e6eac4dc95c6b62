// Trusted documents: only operations listed in a JSON file { "<sha256 hex>": "<document>" }
// run; a request names one by `documentId` (the GraphQL-over-HTTP trusted documents form,
// "sha256:<hex>" or bare hex) or by extensions.persistedQuery.sha256Hash (Apollo's form).
// A request sending a query text is refused, even one in the list: the point is that no
// client-written document reaches the gateway. The file is read and every document parsed
// once at start-up, so a broken list stops the gateway instead of refusing requests.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';

// The plugin (~13 MB resident with what it loads) only when trusted documents are configured.
const loadPersistedOperations = (): typeof import('@graphql-yoga/plugin-persisted-operations').usePersistedOperations =>
  createRequire(import.meta.url)('@graphql-yoga/plugin-persisted-operations').usePersistedOperations;

import { ConfigError, persistedQueryIdRequired, persistedQueryNotInList } from '../../errors.js';
import type { RejectionCounter } from '../security-metrics.js';

/** "sha256:ABC..." and "abc..." name the same document. */
export function documentKey(id: string): string {
  return id.replace(/^sha256:/i, '').toLowerCase();
}

export function loadTrustedDocuments(file: string): Map<string, string> {
  const problem = (message: string) =>
    new ConfigError([{ file, line: 1, column: 1, message: `trusted documents: ${message}` }]);
  let text: string;
  let json: unknown;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw problem(`cannot read the file (${(e as Error).message})`);
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw problem(`not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw problem('expected an object { "<sha256 hash>": "<document>" }');
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(json)) {
    if (typeof document !== 'string')
      throw problem(`"${id}": expected the document as a string, received ${typeof document}`);
    try {
      parse(document);
    } catch (e) {
      throw problem(`"${id}": ${(e as Error).message}`);
    }
    documents.set(documentKey(id), document);
  }
  return documents;
}

function documentIdOf(params: GraphQLParams & { documentId?: unknown }): string | null {
  if (typeof params.documentId === 'string') return documentKey(params.documentId);
  const persisted = (params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return typeof persisted?.sha256Hash === 'string' ? documentKey(persisted.sha256Hash) : null;
}

export function useTrustedDocuments(documents: ReadonlyMap<string, string>, count: RejectionCounter): Plugin {
  return loadPersistedOperations()({
    allowArbitraryOperations: false,
    extractPersistedOperationId: documentIdOf,
    getPersistedOperation: (id) => documents.get(id) ?? null,
    customErrors: {
      notFound: () => {
        count('trusted_documents');
        return persistedQueryNotInList();
      },
      keyNotFound: () => {
        count('trusted_documents');
        return persistedQueryIdRequired();
      },
      persistedQueryOnly: () => {
        count('trusted_documents');
        return persistedQueryIdRequired();
      },
    },
  });
}
