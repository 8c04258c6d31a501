// Which policies apply to a tool: metav1.LabelSelector matching on the tool namespace's labels,
// narrowed by the policy's tools list, ordered by priority (higher first) and then name.

import { DEFAULT_PRIORITY, DEFAULT_TOOL_SELECTOR } from '../api/defaults.js';
import { TOOL_NAMESPACE_PREFIX, type BuildQuotaPolicy, type LabelSelector, type LabelSelectorRequirement } from '../api/types.js';
import type { ToolNamespace } from '../api/tool.js';

type Labels = Readonly<Record<string, string>>;

function requirementMatches(req: LabelSelectorRequirement, labels: Labels): boolean {
  const present = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return present && value !== undefined && values.includes(value);
    case 'NotIn':
      return !present || (value !== undefined && !values.includes(value));
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      return false;
  }
}

// metav1.LabelSelectorAsSelector refuses these; controllers then select nothing, and so do we.
function requirementIsValid(req: LabelSelectorRequirement): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      return values.length > 0;
    case 'Exists':
    case 'DoesNotExist':
      return values.length === 0;
    default:
      return false;
  }
}

/**
 * metav1.LabelSelector semantics: every matchLabels pair and every matchExpressions requirement
 * must hold; an empty selector matches everything; an invalid one matches nothing.
 */
export function selectorMatches(selector: LabelSelector, labels: Labels | undefined): boolean {
  const have = labels ?? {};
  const expressions = selector.matchExpressions ?? [];
  if (!expressions.every(requirementIsValid)) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(have, k) || have[k] !== v) return false;
  }
  return expressions.every((req) => requirementMatches(req, have));
}

/** The selector a policy uses: its toolSelector, or {matchLabels: {tenancy: tool}} when it has none. */
export function toolSelectorOf(policy: BuildQuotaPolicy): LabelSelector {
  return policy.spec.toolSelector ?? DEFAULT_TOOL_SELECTOR;
}

/** The tool name a namespace stands for, valid or not: tools lists are matched against it. */
function toolNameOf(toolNs: ToolNamespace): string | undefined {
  return toolNs.name.startsWith(TOOL_NAMESPACE_PREFIX) ? toolNs.name.slice(TOOL_NAMESPACE_PREFIX.length) : undefined;
}

/**
 * Whether a policy applies to a tool namespace: its selector matches the namespace's labels and,
 * if it lists tools, the tool is one of them. A namespace whose name breaks the tool-name rules can
 * still match (so the caller can report it); rendering it then fails with a typed error.
 */
export function policyMatchesTool(policy: BuildQuotaPolicy, toolNs: ToolNamespace): boolean {
  if (!selectorMatches(toolSelectorOf(policy), toolNs.labels)) return false;
  const tools = policy.spec.tools ?? [];
  if (tools.length === 0) return true;
  const tool = toolNameOf(toolNs);
  return tool !== undefined && tools.includes(tool);
}

export function policyPriority(policy: BuildQuotaPolicy): number {
  return policy.spec.priority ?? DEFAULT_PRIORITY;
}

/** Highest priority first; equal priorities by name, alphabetically first winning. */
export function comparePolicies(a: BuildQuotaPolicy, b: BuildQuotaPolicy): number {
  const byPriority = policyPriority(b) - policyPriority(a);
  if (byPriority !== 0) return byPriority;
  const an = a.metadata.name;
  const bn = b.metadata.name;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** The policies that apply to a tool namespace, strongest first. */
export function policiesForTool(toolNs: ToolNamespace, policies: readonly BuildQuotaPolicy[]): BuildQuotaPolicy[] {
  return policies.filter((p) => policyMatchesTool(p, toolNs)).sort(comparePolicies);
}
