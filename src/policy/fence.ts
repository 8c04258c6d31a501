// The effective build fence of one tool: each field of spec.builds.fence from the strongest
// policy that sets it, params merged by name over the defaults (so an override restates one pattern),
// and where nothing is set the strict Toolforge allowlist for the replicated Pipelines: a
// missing fence must never mean "allow all".
import type { BuildQuotaPolicy, BuildsSection } from '../api/types.js';

export type FenceParamType = 'string' | 'array';

export interface EffectiveFenceParam {
  name: string;
  type: FenceParamType;
  /** RE2, with {tool} still in it; render substitutes the tool. Undefined: any value. */
  pattern?: string;
  required: boolean;
}

export interface EffectiveFence {
  pipelines: string[];
  params: EffectiveFenceParam[];
  minPipelineTimeout: string;
  maxPipelineTimeout: string;
  labelPrefixes: string[];
  annotationPrefixes: string[];
}

type FenceSection = NonNullable<BuildsSection['fence']>;

/**
 * What builds-api passes (Toolforge's buildpack-admission-controller checks APP_IMAGE the same
 * way): the image under the tool's own registry project, a builder under the toolforge project.
 */
export const DEFAULT_FENCE_PARAMS: readonly EffectiveFenceParam[] = [
  { name: 'APP_IMAGE', type: 'string', pattern: '^[a-z0-9.-]+(:[0-9]+)?/tool-{tool}/[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$', required: true },
  { name: 'BUILDER_IMAGE', type: 'string', pattern: '^[a-z0-9.-]+(:[0-9]+)?/toolforge/[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$', required: false },
  { name: 'ENV_VARS', type: 'array', pattern: '^[A-Za-z_][A-Za-z0-9_]*=', required: false },
  { name: 'SOURCE_REFERENCE', type: 'string', pattern: '^[^\\s]{0,255}$', required: false },
  { name: 'SOURCE_URL', type: 'string', pattern: '^https?://[^\\s]+$', required: true },
];
export const DEFAULT_MIN_PIPELINE_TIMEOUT = '1m';
export const DEFAULT_MAX_PIPELINE_TIMEOUT = '1h';
export const DEFAULT_LABEL_PREFIXES: readonly string[] = ['user'];
export const DEFAULT_ANNOTATION_PREFIXES: readonly string[] = ['kubectl.kubernetes.io/last-applied-configuration'];

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The replicated Pipelines (by name): what a PipelineRun may reference when no policy says. */
export function replicatedPipelines(replicate: readonly { apiVersion?: string; kind: string; name?: string }[]): string[] {
  const names = replicate
    .filter((e) => e.kind === 'Pipeline' && (e.apiVersion ?? '').startsWith('tekton.dev/') && e.name !== undefined)
    .map((e) => e.name ?? '');
  return [...new Set(names)].sort();
}

/**
 * Layers the fences of the policies that match a tool, strongest first. `pipelines` defaults
 * to the replicated Pipelines of the effective policy.
 */
export function effectiveFence(layers: readonly BuildQuotaPolicy[], replicated: readonly string[], contributed: (policy: string) => void): EffectiveFence {
  const fences = layers
    .map((p): [string, FenceSection | undefined] => [p.metadata.name, p.spec.builds?.fence ?? undefined])
    .filter((entry): entry is [string, FenceSection] => entry[1] != null);
  function strongest<K extends keyof FenceSection>(field: K): NonNullable<FenceSection[K]> | undefined {
    for (const [name, fence] of fences) {
      const value = fence[field];
      if (value != null) {
        contributed(name);
        return structuredClone(value);
      }
    }
    return undefined;
  }
  const params = new Map<string, EffectiveFenceParam>();
  for (const [name, fence] of fences) {
    for (const p of fence.params ?? []) {
      if (params.has(p.name)) continue;
      contributed(name);
      const param: EffectiveFenceParam = { name: p.name, type: p.type ?? 'string', required: p.required ?? false };
      if (p.pattern !== undefined) param.pattern = p.pattern;
      params.set(p.name, param);
    }
  }
  // The Toolforge allowlist is the weakest layer: a policy restates only the params it changes.
  for (const p of DEFAULT_FENCE_PARAMS) if (!params.has(p.name)) params.set(p.name, { ...p });
  return {
    pipelines: [...(strongest('pipelines') ?? replicated)].sort(),
    params: [...params.values()].sort(byName),
    minPipelineTimeout: strongest('minPipelineTimeout') ?? DEFAULT_MIN_PIPELINE_TIMEOUT,
    maxPipelineTimeout: strongest('maxPipelineTimeout') ?? DEFAULT_MAX_PIPELINE_TIMEOUT,
    labelPrefixes: [...(strongest('labelPrefixes') ?? DEFAULT_LABEL_PREFIXES)].sort(),
    annotationPrefixes: [...(strongest('annotationPrefixes') ?? DEFAULT_ANNOTATION_PREFIXES)].sort(),
  };
}
