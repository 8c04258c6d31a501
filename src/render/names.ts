// Names of the build namespace and of the objects in it. A build namespace name over 63
// characters is cut and given a hash of the full name, so it stays unique and stable.

import { createHash } from 'node:crypto';
import { DEFAULT_NAME_TEMPLATE, TOOL_PLACEHOLDER } from '../api/defaults.js';

export const BUILD_QUOTA_NAME = 'build-quota';
export const BUILD_LIMITS_NAME = 'build-limits';
export const TOOL_ROLE_BINDING_NAME = 'tool-builds';
export const BUILD_NETWORK_POLICY_NAME = 'build-network';

export const NAMESPACE_NAME_MAX_LENGTH = 63;
const HASH_LENGTH = 8;
// 54 + '-' + 8 hex = 63.
const CUT_LENGTH = NAMESPACE_NAME_MAX_LENGTH - HASH_LENGTH - 1;

/**
 * The build namespace of a tool: the template with every {tool} replaced. A longer result than
 * 63 characters becomes its first 54 characters (trailing '-' dropped), '-', and the first 8 hex
 * digits of the SHA-256 of the full name.
 */
export function buildNamespaceName(tool: string, template: string = DEFAULT_NAME_TEMPLATE): string {
  const full = template.replaceAll(TOOL_PLACEHOLDER, tool);
  if (full.length <= NAMESPACE_NAME_MAX_LENGTH) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_LENGTH);
  return `${full.slice(0, CUT_LENGTH).replace(/-+$/, '')}-${hash}`;
}
