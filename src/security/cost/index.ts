// Cost analysis (the IBM cost directive spec) and the cost-limit plugin.
export { actualCost } from './actual.js';
export { DEFAULT_LIST_SIZE, estimateCost } from './estimate.js';
export { prepareOperation, type PreparedOperation } from './model.js';
export { useCostLimits, type CostDeps, type CostExtension } from './use-cost-limits.js';
