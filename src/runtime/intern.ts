// One copy of what thousands of cached objects repeat. JSON.parse gives every object its own
// copy of each string value and of each managedFields set, though across a fleet most are the
// same: the managed-by label's value, a tool's name on its five objects, the operator's
// manager name and the very same set of owned fields on every ResourceQuota. The cache keeps
// one of each (hash-consing), so that its size grows with what differs between tools, not
// with how often the same text is said. Pure: no I/O.
import type { KubeObject, ManagedFieldsEntry, ObjectMeta } from '../api/meta.js';

/** Longer strings are rarely repeated (a last-applied annotation, a certificate): not kept. */
const MAX_INTERNED_LENGTH = 256;
/** Past this many distinct values the table starts again, so that a churning fleet cannot grow it forever. */
const MAX_ENTRIES = 200_000;

export class Interner {
  private strings = new Map<string, string>();
  private fieldSets = new Map<string, unknown>();

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
   * The one copy of a managedFields set (fieldsV1): frozen, since objects share it. Its
   * serialisation is the key, so equal sets written in any key order still differ; the API
   * server writes them in one order.
   */
  fieldSet(fields: unknown): unknown {
    if (fields === null || typeof fields !== 'object') return fields;
    const key = JSON.stringify(fields);
    const known = this.fieldSets.get(key);
    if (known !== undefined) return known;
    if (this.fieldSets.size >= MAX_ENTRIES) this.fieldSets = new Map();
    deepFreeze(fields);
    this.fieldSets.set(key, fields);
    return fields;
  }

  /** The object with its repeated metadata shared; changed in place and returned. */
  object<T extends KubeObject>(obj: T): T {
    if (obj.apiVersion !== undefined) obj.apiVersion = this.string(obj.apiVersion);
    if (obj.kind !== undefined) obj.kind = this.string(obj.kind);
    this.metadata(obj.metadata);
    return obj;
  }

  private metadata(meta: ObjectMeta & { ownerReferences?: Record<string, unknown>[] }): void {
    if (meta.namespace !== undefined) meta.namespace = this.string(meta.namespace);
    if (meta.creationTimestamp !== undefined) meta.creationTimestamp = this.string(meta.creationTimestamp);
    this.values(meta.labels);
    this.values(meta.annotations);
    for (const ref of meta.ownerReferences ?? []) {
      for (const key of ['apiVersion', 'kind'] as const) {
        if (typeof ref[key] === 'string') ref[key] = this.string(ref[key]);
      }
    }
    for (const entry of meta.managedFields ?? []) this.managedFieldsEntry(entry);
  }

  private values(map: Record<string, string> | undefined): void {
    if (!map) return;
    for (const key of Object.keys(map)) map[key] = this.string(map[key]!);
  }

  private managedFieldsEntry(entry: ManagedFieldsEntry & { time?: string }): void {
    for (const key of ['manager', 'operation', 'apiVersion', 'fieldsType', 'time', 'subresource'] as const) {
      const value = entry[key];
      if (value !== undefined) entry[key] = this.string(value);
    }
    if (entry.fieldsV1 !== undefined) entry.fieldsV1 = this.fieldSet(entry.fieldsV1);
  }
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
