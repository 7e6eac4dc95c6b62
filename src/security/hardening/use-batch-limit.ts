// Batched requests (a JSON array of operations): refused unless maxBatch > 0, and then at most
// maxBatch operations. Yoga runs its own check after this one, with the limit gateway.ts gives
// it (yogaHardening().batching); this one comes first so the refusal carries Quilt's code and
// is counted. Each operation of an accepted batch goes through every other limit on its own.
import type { Plugin } from 'graphql-yoga';
import { batchLimitExceeded } from '../../errors.js';
import type { RejectionCounter } from '../security-metrics.js';

export function useBatchLimit(maxBatch: number, count: RejectionCounter): Plugin {
  return {
    onRequestParse() {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (!Array.isArray(requestParserResult)) return;
          if (maxBatch > 0 && requestParserResult.length <= maxBatch) return;
          count('batch');
          throw batchLimitExceeded(maxBatch);
        },
      };
    },
  };
}
