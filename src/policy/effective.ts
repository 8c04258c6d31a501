// The effective policy of one tool: the matching policies layered by priority. resourceQuota.hard
// is merged key by key (the stronger policy wins each key); every other section is taken whole
// from the strongest policy that sets it, with the schema's defaults filled in.

import {
  DEFAULT_DELETION_POLICY,
  DEFAULT_NAME_TEMPLATE,
  DEFAULT_POD_SECURITY,
  DEFAULT_REPLICATE_API_VERSION,
  DEFAULT_SERVICE_ACCOUNT_NAME,
  DEFAULT_TOOL_ROLE,
} from '../api/defaults.js';
import type { ToolNamespace } from '../api/tool.js';
import type {
  BuildQuotaPolicy,
  BuildQuotaPolicySpec,
  BuildsSection,
  DeletionPolicy,
  LabelSelector,
  LimitType,
  NetworkPolicySection,
  PodSecurityLevel,
  ResourceList,
  ResourceQuotaSection,
  Subject,
} from '../api/types.js';
import { effectiveFence, replicatedPipelines, type EffectiveFence } from './fence.js';
import { policiesForTool } from './select.js';

/** Quantities as strings ("4" rather than 4): the form objects are rendered in. */
export type Quantities = Record<string, string>;

export interface EffectiveLimitRangeItem {
  type: LimitType;
  max?: Quantities;
  min?: Quantities;
  default?: Quantities;
  defaultRequest?: Quantities;
  maxLimitRequestRatio?: Quantities;
}

export interface EffectiveScopedQuota {
  name: string;
  hard: Quantities;
  scopeSelector: { matchExpressions: { scopeName: string; operator: string; values?: string[] }[] };
}

export interface EffectiveReplicateEntry {
  apiVersion: string;
  kind: string;
  namespace: string;
  name?: string;
  selector?: LabelSelector;
}

export interface EffectivePolicy {
  tool: string;
  /** Names of the policies that contributed at least one section or quota key, strongest first. */
  sources: string[];
  namespace: {
    nameTemplate: string;
    podSecurity: PodSecurityLevel;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  /** scoped: set only when a policy lists scoped quotas. */
  resourceQuota: { hard: Quantities; scoped?: EffectiveScopedQuota[] };
  /** Undefined when no policy sets one, or the strongest that does lists no limits. */
  limitRange?: { limits: EffectiveLimitRangeItem[] };
  serviceAccount: { name: string; secrets: string[]; imagePullSecrets: string[] };
  access: { toolRole: string; extraSubjects: Subject[] };
  networkPolicy?: NetworkPolicySection;
  /** Objects to copy into the build namespace; [] when no policy sets any. */
  replicate: EffectiveReplicateEntry[];
  /**
   * PipelineRun retention (unset counts mean 4 succeeded and 2 failed, src/render/retention-decision.ts;
   * an unset TTL none) and the build queue's maxRunning (unset: what fits the quota, src/render/build-queue.ts).
   */
  builds: Omit<BuildsSection, 'fence'>;
  /** What a PipelineRun may hold (src/render/fence.ts renders it), never unset. */
  fence: EffectiveFence;
  deletionPolicy: DeletionPolicy;
}

type Section = Exclude<keyof BuildQuotaPolicySpec, 'priority' | 'toolSelector' | 'tools'>;

function sortedRecord<V>(entries: Iterable<[string, V]>): Record<string, V> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function quantities(list: ResourceList | undefined): Quantities | undefined {
  if (list == null) return undefined;
  return sortedRecord(Object.entries(list).map(([k, v]): [string, string] => [k, String(v)]));
}

/**
 * Layers the policies that match a tool namespace into one. Returns undefined when none
 * matches. The inputs are not modified and share nothing with the result.
 */
export function effectivePolicy(
  tool: string,
  toolNs: ToolNamespace,
  policies: readonly BuildQuotaPolicy[],
): EffectivePolicy | undefined {
  const layers = policiesForTool(toolNs, policies);
  if (layers.length === 0) return undefined;
  const contributors = new Set<string>();

  // The strongest policy that sets a section (null counts as unset, as the API server prunes it).
  function strongest<S extends Section>(section: S): NonNullable<BuildQuotaPolicySpec[S]> | undefined {
    for (const p of layers) {
      const value = p.spec[section];
      if (value != null) {
        contributors.add(p.metadata.name);
        return structuredClone(value);
      }
    }
    return undefined;
  }

  const hard = new Map<string, string>();
  for (const p of layers) {
    for (const [k, v] of Object.entries(p.spec.resourceQuota?.hard ?? {})) {
      if (hard.has(k) || v == null) continue;
      hard.set(k, String(v));
      contributors.add(p.metadata.name);
    }
  }

  const namespace = strongest('namespace');
  const limitRange = strongest('limitRange');
  const serviceAccount = strongest('serviceAccount');
  const access = strongest('access');
  const networkPolicy = strongest('networkPolicy');
  const replicate = strongest('replicate');
  // Retention from the strongest policy that sets any retention field: a per-tool fence
  // override must not reset the counts.
  let builds: Omit<BuildsSection, 'fence'> | undefined;
  for (const p of layers) {
    const { fence: _fence, maxRunning: _maxRunning, ...retention } = p.spec.builds ?? {};
    if (Object.values(retention).some((v) => v != null)) {
      contributors.add(p.metadata.name);
      builds = structuredClone(retention);
      break;
    }
  }
  // The build queue's per-tool cap on its own, like the fence: a per-tool override of the
  // cap must not reset retention, nor a retention override the cap.
  const maxRunningFrom = layers.find((p) => p.spec.builds?.maxRunning != null);
  if (maxRunningFrom) {
    contributors.add(maxRunningFrom.metadata.name);
    builds = { ...builds, maxRunning: maxRunningFrom.spec.builds!.maxRunning };
  }
  let scoped: NonNullable<ResourceQuotaSection['scoped']> | undefined;
  for (const p of layers) {
    if (p.spec.resourceQuota?.scoped != null) {
      contributors.add(p.metadata.name);
      scoped = structuredClone(p.spec.resourceQuota.scoped);
      break;
    }
  }
  const deletionPolicy = strongest('deletionPolicy');

  const limits = (limitRange?.limits ?? []).map(
    (item): EffectiveLimitRangeItem => {
      const out: EffectiveLimitRangeItem = { type: item.type };
      for (const field of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const) {
        const q = quantities(item[field]);
        if (q !== undefined) out[field] = q;
      }
      return out;
    },
  );

  const effective: EffectivePolicy = {
    tool,
    sources: layers.map((p) => p.metadata.name).filter((name) => contributors.has(name)),
    namespace: {
      nameTemplate: namespace?.nameTemplate ?? DEFAULT_NAME_TEMPLATE,
      podSecurity: namespace?.podSecurity ?? DEFAULT_POD_SECURITY,
      labels: sortedRecord(Object.entries(namespace?.labels ?? {})),
      annotations: sortedRecord(Object.entries(namespace?.annotations ?? {})),
    },
    resourceQuota: { hard: sortedRecord(hard) },
    serviceAccount: {
      name: serviceAccount?.name ?? DEFAULT_SERVICE_ACCOUNT_NAME,
      secrets: serviceAccount?.secrets ?? [],
      imagePullSecrets: serviceAccount?.imagePullSecrets ?? [],
    },
    access: {
      toolRole: access?.toolRole ?? DEFAULT_TOOL_ROLE,
      extraSubjects: access?.extraSubjects ?? [],
    },
    replicate: (replicate ?? []).map((entry) => ({
      ...entry,
      apiVersion: entry.apiVersion ?? DEFAULT_REPLICATE_API_VERSION,
    })),
    builds: builds ?? {},
    fence: effectiveFence(layers, replicatedPipelines(replicate ?? []), (name) => contributors.add(name)),
    deletionPolicy: deletionPolicy ?? DEFAULT_DELETION_POLICY,
  };
  if (limits.length > 0) effective.limitRange = { limits };
  if (scoped !== undefined && scoped.length > 0) {
    effective.resourceQuota.scoped = scoped.map((q) => ({ name: q.name, hard: quantities(q.hard) ?? {}, scopeSelector: q.scopeSelector }));
  }
  if (networkPolicy !== undefined) effective.networkPolicy = networkPolicy;
  return effective;
}
