// The defaults the policy module fills in where a policy leaves a field unset: the CRD's own
// `default:` values (read from the generated schema), and the few that the CRD leaves open.

import { SCHEMA_DEFAULTS } from './generated/buildquotapolicy.js';
import type { DeletionPolicy, LabelSelector, PodSecurityLevel } from './types.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export const DEFAULT_PRIORITY: number = SCHEMA_DEFAULTS['spec.priority'];
// Frozen: selector code hands this very object out.
export const DEFAULT_TOOL_SELECTOR: LabelSelector = deepFreeze(structuredClone(SCHEMA_DEFAULTS['spec.toolSelector']));
export const DEFAULT_NAME_TEMPLATE: string = SCHEMA_DEFAULTS['spec.namespace.nameTemplate'];
export const DEFAULT_POD_SECURITY: PodSecurityLevel = SCHEMA_DEFAULTS['spec.namespace.podSecurity'];
export const DEFAULT_SERVICE_ACCOUNT_NAME: string = SCHEMA_DEFAULTS['spec.serviceAccount.name'];
export const DEFAULT_TOOL_ROLE: string = SCHEMA_DEFAULTS['spec.access.toolRole'];
export const DEFAULT_REPLICATE_API_VERSION: string = SCHEMA_DEFAULTS['spec.replicate[].apiVersion'];
/** Not a schema default (see the CRD's deletionPolicy description): filled in by effectivePolicy. */
export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'Delete';

/** What namespace.nameTemplate replaces by the tool name. */
export const TOOL_PLACEHOLDER = '{tool}';
