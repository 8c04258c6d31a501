// diffObject: where a live object differs from the desired one on the fields the operator owns.
// An empty result means a server-side apply would change nothing, so none is sent: the steady
// state costs no writes. Used by the reconciler and by `plan --diff`.

import { child, index, key } from '../api/field-path.js';
import { sameQuantity } from '../api/quantity.js';
import { MANAGER } from '../api/types.js';

export interface FieldDiff {
  path: string;
  /** undefined: the field should not be there (we set it before and no longer do). */
  want: unknown;
  got: unknown;
}

export interface DiffOptions {
  /** Field manager whose applied fields are ours; defaults to the operator's. */
  manager?: string;
}

type JsonObject = Record<string, unknown>;

/** What diffObject needs of a desired object: a DesiredObject, or any object shaped like one. */
export interface ComparableObject {
  kind?: string;
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

// [] and {} are dropped by the API server's omitempty; they equal an absent field.
const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

// Fields whose keys are data (label keys, resource names), written as name[key].
const MAP_FIELDS = new Set([
  'labels', 'annotations', 'matchLabels', 'hard', 'max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio',
]);

const QUANTITY_MAPS: Readonly<Record<string, RegExp>> = {
  // The API server stores quantities canonically ("2000m" comes back as "2").
  ResourceQuota: /^spec\.hard\[[^\]]+\]$/,
  LimitRange: /^spec\.limits\[\d+\]\.(max|min|default|defaultRequest|maxLimitRequestRatio)\[[^\]]+\]$/,
};

// Atomic structures that server-side apply replaces whole; compared exactly, not by our keys.
const ATOMIC_FIELDS: Readonly<Record<string, RegExp>> = {
  NetworkPolicy: /^spec\.podSelector$/,
};

interface Context {
  kind: string;
  diffs: FieldDiff[];
}

function step(path: string, parentField: string | undefined, name: string): string {
  return parentField !== undefined && MAP_FIELDS.has(parentField) ? key(path, name) : child(path, name);
}

function lastField(path: string): string | undefined {
  const m = /([A-Za-z]+)$/.exec(path);
  return m?.[1];
}

function isQuantityPath(ctx: Context, path: string): boolean {
  return QUANTITY_MAPS[ctx.kind]?.test(path) ?? false;
}

/**
 * Compares want with got. In `exact` mode (lists and atomic structures, which apply replaces
 * whole) keys present only in got are differences too; otherwise only want's keys are looked at,
 * so fields the API server defaults or others own do not count.
 */
function compare(ctx: Context, want: unknown, got: unknown, path: string, exact: boolean): void {
  if (isEmpty(want) && isEmpty(got)) return;
  if (isQuantityPath(ctx, path) && (typeof want === 'string' || typeof want === 'number')) {
    if (!((typeof got === 'string' || typeof got === 'number') && sameQuantity(want, got))) {
      ctx.diffs.push({ path, want, got });
    }
    return;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) {
      ctx.diffs.push({ path, want, got });
      return;
    }
    want.forEach((w: unknown, i) => compare(ctx, w, got[i], index(path, i), true));
    return;
  }
  if (isObject(want)) {
    if (!isObject(got)) {
      ctx.diffs.push({ path, want, got });
      return;
    }
    const atomic = exact || (ATOMIC_FIELDS[ctx.kind]?.test(path) ?? false);
    const parent = lastField(path);
    for (const [name, w] of Object.entries(want)) compare(ctx, w, got[name], step(path, parent, name), atomic);
    if (atomic) {
      for (const [name, g] of Object.entries(got)) {
        if (!(name in want) && !isEmpty(g)) ctx.diffs.push({ path: step(path, parent, name), want: undefined, got: g });
      }
    }
    return;
  }
  if (want !== got) ctx.diffs.push({ path, want, got });
}

/**
 * Fields our manager applied before that desired no longer has (a label or quota key dropped
 * from a policy, the ready label withdrawn): apply removes them, so they count as differences.
 * Read from managedFields, where fieldsV1 names each owned field "f:<name>".
 */
function staleOwnedFields(ctx: Context, fields: unknown, want: unknown, got: unknown, path: string): void {
  if (!isObject(fields) || !isObject(got)) return;
  const parent = lastField(path);
  for (const [entry, sub] of Object.entries(fields)) {
    // '.', and list members ("k:", "v:", "i:"): lists are compared whole by compare().
    if (!entry.startsWith('f:')) continue;
    const name = entry.slice(2);
    const g = got[name];
    if (g === undefined || g === null) continue;
    const w = isObject(want) ? want[name] : undefined;
    const p = path === '' ? name : step(path, parent, name);
    if (w === undefined || w === null) ctx.diffs.push({ path: p, want: undefined, got: g });
    else if (isObject(w)) staleOwnedFields(ctx, sub, w, g, p);
  }
}

/**
 * The differences between a desired object and its live version, on the fields we own:
 * - metadata: only our labels and annotations (extra ones on the live object are fine);
 * - every other top-level field but status: desired's fields, recursively; fields the API
 *   server defaults and desired does not set are ignored; lists are compared element by
 *   element and exactly; quantities in ResourceQuota and LimitRange by value, not text;
 * - fields our manager applied earlier (per live managedFields) that desired no longer sets.
 * A missing live object gives one difference at the root.
 */
export function diffObject(desired: ComparableObject, live: unknown, opts: DiffOptions = {}): FieldDiff[] {
  if (!isObject(live)) return [{ path: '', want: desired, got: live }];
  const ctx: Context = { kind: desired.kind ?? '', diffs: [] };
  const liveMeta = isObject(live.metadata) ? live.metadata : {};
  compare(ctx, desired.metadata.labels ?? {}, liveMeta.labels ?? {}, 'metadata.labels', false);
  if (desired.metadata.annotations !== undefined) {
    compare(ctx, desired.metadata.annotations, liveMeta.annotations ?? {}, 'metadata.annotations', false);
  }
  const fields: JsonObject = { ...desired };
  for (const [name, want] of Object.entries(fields)) {
    if (name === 'apiVersion' || name === 'kind' || name === 'metadata' || name === 'status') continue;
    compare(ctx, want, live[name], name, false);
  }

  const manager = opts.manager ?? MANAGER;
  const managedFields = Array.isArray(liveMeta.managedFields) ? liveMeta.managedFields : [];
  for (const entry of managedFields) {
    if (!isObject(entry) || entry.manager !== manager || entry.operation !== 'Apply') continue;
    const owned = entry.fieldsV1;
    if (!isObject(owned)) continue;
    for (const [entryName, sub] of Object.entries(owned)) {
      if (!entryName.startsWith('f:')) continue;
      const name = entryName.slice(2);
      if (name === 'apiVersion' || name === 'kind' || name === 'status') continue;
      if (name === 'metadata') {
        const metaFields = isObject(sub) ? sub : {};
        for (const field of ['labels', 'annotations'] as const) {
          staleOwnedFields(ctx, metaFields[`f:${field}`], desired.metadata[field], liveMeta[field], `metadata.${field}`);
        }
        continue;
      }
      if (!(name in live) || live[name] === undefined || live[name] === null) continue;
      const want = fields[name];
      if (want === undefined || want === null) ctx.diffs.push({ path: name, want: undefined, got: live[name] });
      else if (isObject(want)) staleOwnedFields(ctx, sub, want, live[name], name);
    }
  }
  return dedupe(ctx.diffs);
}

function dedupe(diffs: FieldDiff[]): FieldDiff[] {
  const seen = new Set<string>();
  return diffs.filter((d) => {
    if (seen.has(d.path)) return false;
    seen.add(d.path);
    return true;
  });
}

/** Fields the API server refuses to change in place: a difference there needs delete and create. */
export function needsRecreate(desired: ComparableObject, diffs: readonly FieldDiff[]): boolean {
  return desired.kind === 'RoleBinding' && diffs.some((d) => d.path === 'roleRef' || d.path.startsWith('roleRef.'));
}
