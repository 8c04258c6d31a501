// Tool names and tool namespaces: a tool <name> lives in namespace tool-<name>, and only names
// that follow the Toolforge rules get a build namespace.

import { err, ok, type Result } from './result.js';
import { TOOL_NAMESPACE_PREFIX } from './types.js';

export const TOOL_NAME_MAX_LENGTH = 53;
export const TOOL_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type ToolNameErrorReason = 'NotToolNamespace' | 'InvalidToolName' | 'ToolNameTooLong';

export interface ToolNameError {
  reason: ToolNameErrorReason;
  message: string;
}

/** The parts of a tool namespace the pure core looks at. */
export interface ToolNamespace {
  name: string;
  labels?: Record<string, string>;
}

export function toolNamespaceName(tool: string): string {
  return `${TOOL_NAMESPACE_PREFIX}${tool}`;
}

export function validateToolName(name: string): Result<string, ToolNameError> {
  if (name.length > TOOL_NAME_MAX_LENGTH) {
    return err({
      reason: 'ToolNameTooLong',
      message: `tool name ${JSON.stringify(name)} has ${name.length} characters, more than ${TOOL_NAME_MAX_LENGTH}`,
    });
  }
  if (!TOOL_NAME_PATTERN.test(name)) {
    return err({
      reason: 'InvalidToolName',
      message:
        `tool name ${JSON.stringify(name)} must be lowercase letters, digits and '-', ` +
        'starting and ending with a letter or digit',
    });
  }
  return ok(name);
}

/**
 * The tool a namespace belongs to, from its name. Labels decide whether a policy selects the
 * namespace, never whose it is, so they are not consulted here.
 */
export function toolFromNamespace(ns: ToolNamespace): Result<string, ToolNameError> {
  if (!ns.name.startsWith(TOOL_NAMESPACE_PREFIX)) {
    return err({
      reason: 'NotToolNamespace',
      message: `namespace ${JSON.stringify(ns.name)} is not a tool namespace (${TOOL_NAMESPACE_PREFIX}<name>)`,
    });
  }
  const tool = ns.name.slice(TOOL_NAMESPACE_PREFIX.length);
  const valid = validateToolName(tool);
  if (!valid.ok) {
    return err({ reason: valid.error.reason, message: `namespace ${JSON.stringify(ns.name)}: ${valid.error.message}` });
  }
  return valid;
}
