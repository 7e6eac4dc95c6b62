// Cost analysis (the IBM cost directive spec) and the cost-limit plugin.
export { actualCost } from './actual.js';
export { DEFAULT_LIST_SIZE, estimateCost } from './estimate.js';
export { type PreparedOperation, prepareOperation } from './model.js';
export { type CostDeps, type CostExtension, useCostLimits } from './use-cost-limits.js';
