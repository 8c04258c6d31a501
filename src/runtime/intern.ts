// One copy of what thousands of cached objects repeat. JSON.parse gives every object its own
// copy of each string value and of each nested map, though across a fleet most are the same:
// the managed-by label's value, a tool's name on its five objects, the label map those five
// objects share, the very same quota spec and set of owned fields on every ResourceQuota of a
// policy, `{phase: Active}` on every Namespace. The cache keeps one of each (hash-consing),
// so that its size grows with what differs between tools, not with how often the same thing
// is said. Shared subtrees are frozen: a caller that would change a cached object fails at
// once instead of changing every object that shares it. Pure: no I/O.
import type { KubeObject, ObjectMeta } from '../api/meta.js';

/** Longer strings are rarely repeated (a last-applied annotation, a certificate): not kept. */
const MAX_INTERNED_LENGTH = 256;
/** Larger subtrees are rarely repeated and costly to compare: kept as they are. */
const MAX_SHARED_TREE_LENGTH = 4096;
/** Past this many distinct values a table starts again, so that a churning fleet cannot grow it forever. */
const MAX_ENTRIES = 200_000;
/** What an object's top level holds besides its data: never shared as a subtree. */
const IDENTITY_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

export class Interner {
  private strings = new Map<string, string>();
  /**
   * Shared subtrees by the hash of their serialisation. The key is a number, not the text,
   * so that a subtree no other object repeats (a tool's RoleBinding subjects) costs no copy
   * of its serialisation; a hit is confirmed by comparing the serialisations.
   */
  private trees = new Map<number, object[]>();
  private treeCount = 0;

  /** The one copy of this string. */
  string(value: string): string {
    if (value.length > MAX_INTERNED_LENGTH) return value;
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size >= MAX_ENTRIES) this.strings = new Map();
    this.strings.set(value, value);
    return value;
  }

  /**
   * The one copy of a subtree (a label map, a spec, a managedFields set): frozen, since
   * objects share it. Its serialisation is what makes two equal, so equal maps written in
   * another key order stay apart; the API server writes each kind's fields in one order.
   */
  tree<V>(value: V, maxLength = MAX_SHARED_TREE_LENGTH): V {
    if (value === null || typeof value !== 'object') return value;
    const text = JSON.stringify(value);
    if (text.length > maxLength) return value;
    const hash = fnv1a(text);
    const bucket = this.trees.get(hash);
    const known = bucket?.find((candidate) => JSON.stringify(candidate) === text);
    if (known !== undefined) return known as V;
    if (this.treeCount >= MAX_ENTRIES) {
      this.trees = new Map();
      this.treeCount = 0;
    }
    deepFreeze(value);
    if (bucket) bucket.push(value);
    else this.trees.set(hash, [value]);
    this.treeCount++;
    return value;
  }

  /** The object with its repeated metadata shared; changed in place and returned. */
  object<T extends KubeObject>(obj: T): T {
    if (obj.apiVersion !== undefined) obj.apiVersion = this.string(obj.apiVersion);
    if (obj.kind !== undefined) obj.kind = this.string(obj.kind);
    this.metadata(obj.metadata);
    const fields = obj as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (!IDENTITY_FIELDS.has(key)) fields[key] = this.tree(this.shareStrings(fields[key]));
    }
    return obj;
  }

  private metadata(meta: ObjectMeta & { ownerReferences?: Record<string, unknown>[] }): void {
    // The name too: every tool has a ResourceQuota called build-quota.
    meta.name = this.string(meta.name);
    if (meta.namespace !== undefined) meta.namespace = this.string(meta.namespace);
    if (meta.creationTimestamp !== undefined) meta.creationTimestamp = this.string(meta.creationTimestamp);
    if (meta.labels) meta.labels = this.tree(this.shareStrings(meta.labels));
    if (meta.annotations) meta.annotations = this.tree(this.shareStrings(meta.annotations));
    for (const ref of meta.ownerReferences ?? []) {
      for (const key of ['apiVersion', 'kind'] as const) {
        if (typeof ref[key] === 'string') ref[key] = this.string(ref[key]);
      }
    }
    // Every object of a kind and policy has the same entries (their fieldsV1 set has no
    // string values, only keys): one copy of the whole list, whatever its size.
    if (meta.managedFields) meta.managedFields = this.tree(this.shareStrings(meta.managedFields), Infinity);
  }

  /** Every short string in a subtree: its values, so that a tree no one shares still shares its text. */
  private shareStrings<V>(value: V): V {
    if (typeof value === 'string') return this.string(value) as V;
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = this.shareStrings<unknown>(value[i]);
    } else {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = this.shareStrings<unknown>(record[key]);
    }
    return value;
  }
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

/** FNV-1a over UTF-16 code units: a cheap hash whose collisions the caller checks. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
