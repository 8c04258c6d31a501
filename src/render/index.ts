// The render module: the desired objects of a tool's build namespace, and how live ones differ.

export {
  BUILD_LIMITS_NAME,
  BUILD_NETWORK_POLICY_NAME,
  BUILD_QUOTA_NAME,
  NAMESPACE_NAME_MAX_LENGTH,
  TOOL_ROLE_BINDING_NAME,
  buildNamespaceName,
} from './names.js';
export {
  RBAC_API_GROUP,
  ownerLabels,
  renderBuildNamespace,
  type RenderError,
  type RenderErrorReason,
  type RenderOptions,
} from './build-namespace-objects.js';
export { diffObject, needsRecreate, type ComparableObject, type DiffOptions, type FieldDiff } from './owned-fields-diff.js';
