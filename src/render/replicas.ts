// Copies of replicated objects (registry secrets, Pipelines, Tasks) for one build
// namespace: the source's content under our labels, annotated with where it came from and
// a hash of what was copied, so a rotated source is noticed and an equal copy is left be.
import { createHash } from 'node:crypto';
import { ANNOTATION_REPLICATED_FROM, ANNOTATION_SOURCE_HASH } from '../api/types.js';
import type { EffectiveReplicateEntry } from '../policy/effective.js';
import { selectorMatches } from '../policy/select.js';
import { ownerLabels } from './build-namespace-objects.js';
import type { DesiredObject } from '../api/meta.js';

/** The parts of a source object a copy is made from. */
export interface SourceObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface ReplicaProblem {
  entry: EffectiveReplicateEntry;
  /** SourcePending: the source's cache has not synced yet; nothing to report, only to wait for. */
  reason: 'SourceMissing' | 'SourceUnavailable' | 'SourceNotCopyable' | 'SourcePending';
  message: string;
}

/** What the caches know of one source entry: its objects, why they cannot be read, or why not yet. */
export type SourceLookup = (entry: EffectiveReplicateEntry) => SourceObject[] | { unavailable: string } | { pending: string };

// Fields that belong to the source's own life, never to a copy.
const NOT_CONTENT = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** The source's content: every top-level field but identity, metadata and status. */
export function contentOf(source: SourceObject): Record<string, unknown> {
  return Object.fromEntries(Object.entries(source).filter(([k]) => !NOT_CONTENT.has(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function contentHash(content: Record<string, unknown>): string {
  return createHash('sha256').update(stableJson(content)).digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sourceRef = (entry: { namespace: string }, name: string) => `${entry.namespace}/${name}`;

/**
 * The copies a build namespace should hold, and the entries that could not be honoured.
 * Copies are sorted by kind and name, so the output is stable.
 */
export function renderReplicas(
  tool: string,
  namespace: string,
  entries: readonly EffectiveReplicateEntry[],
  lookup: SourceLookup,
): { objects: DesiredObject[]; problems: ReplicaProblem[] } {
  const objects = new Map<string, DesiredObject>();
  const problems: ReplicaProblem[] = [];
  for (const entry of entries) {
    const found = lookup(entry);
    if ('pending' in found) {
      problems.push({ entry, reason: 'SourcePending', message: found.pending });
      continue;
    }
    if (!Array.isArray(found)) {
      problems.push({ entry, reason: 'SourceUnavailable', message: `cannot read ${entry.kind} in ${entry.namespace}: ${found.unavailable}` });
      continue;
    }
    const sources = entry.name
      ? found.filter((s) => s.metadata.name === entry.name)
      : found.filter((s) => selectorMatches(entry.selector ?? {}, s.metadata.labels));
    if (entry.name && sources.length === 0) {
      problems.push({ entry, reason: 'SourceMissing', message: `${entry.kind} ${sourceRef(entry, entry.name)} does not exist` });
      continue;
    }
    for (const source of sources) {
      // A ServiceAccount token only means anything for its own ServiceAccount.
      if (entry.kind === 'Secret' && source.type === 'kubernetes.io/service-account-token') {
        problems.push({ entry, reason: 'SourceNotCopyable', message: `Secret ${sourceRef(entry, source.metadata.name)} is a service-account token; not copied` });
        continue;
      }
      const content = contentOf(source);
      const copy: DesiredObject = {
        apiVersion: entry.apiVersion,
        kind: entry.kind,
        metadata: {
          name: source.metadata.name,
          namespace,
          labels: ownerLabels(tool),
          annotations: {
            [ANNOTATION_REPLICATED_FROM]: sourceRef(entry, source.metadata.name),
            [ANNOTATION_SOURCE_HASH]: contentHash(content),
          },
        },
        ...content,
      };
      objects.set(`${entry.apiVersion}/${entry.kind}/${source.metadata.name}`, copy);
    }
  }
  const sorted = [...objects.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, o]) => o);
  return { objects: sorted, problems };
}
