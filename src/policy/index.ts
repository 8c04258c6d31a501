// The policy module: which BuildQuotaPolicies apply to a tool, and what they add up to.

export {
  comparePolicies,
  policiesForTool,
  policyMatchesTool,
  policyPriority,
  selectorMatches,
  toolSelectorOf,
} from './select.js';
export {
  effectivePolicy,
  type EffectiveLimitRangeItem,
  type EffectivePolicy,
  type EffectiveReplicateEntry,
  type Quantities,
} from './effective.js';
