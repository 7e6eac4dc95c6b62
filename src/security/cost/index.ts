// Cost analysis (the IBM cost directive spec) and the cost-limit plugin.
export { actualCost } from './actual.js';
export { type CostDetails, DEFAULT_LIST_SIZE, estimateCost, estimateCostDetails } from './estimate.js';
export { type PreparedOperation, prepareOperation } from './model.js';
export { type CostDeps, type CostExtension, useCostLimits } from './use-cost-limits.js';
export { INTROSPECTION_ONLY_HEADER, useCostPreview } from './use-cost-preview.js';
