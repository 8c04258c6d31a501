// Every write the operator makes: server-side apply under one field manager, deletes with
// a UID precondition, status patches and Events. Dry-run mode lets `plan` ask the API
// server what an apply would change without changing it.
import { FIELD_MANAGER } from '../api/types.js';
import type { KubeClient } from './client.js';
import type { KubeObject } from '../api/meta.js';
import { collectionPath, objectPath, type ResourceType, type ResourceTypes } from './resources.js';

/** The writes reconcile makes; `plan` swaps in one that records them instead. */
export interface ObjectWriter {
  apply<T extends KubeObject>(obj: T, force?: boolean): Promise<T>;
  applyStatus<T extends KubeObject>(obj: T): Promise<T>;
  delete(type: ResourceType, obj: KubeObject): Promise<void>;
  mergePatch(type: ResourceType, obj: KubeObject, patch: unknown): Promise<KubeObject>;
  jsonPatch(type: ResourceType, obj: KubeObject, operations: readonly JsonPatchOperation[]): Promise<KubeObject>;
  /** A deletion the mass-deletion guard holds back: nothing is written; `plan` lists it. */
  held?(type: ResourceType, obj: KubeObject): void;
}

/** One RFC 6902 operation; `test` makes the whole patch conditional on what is stored. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** A JSON pointer's reference token (RFC 6901): a key such as `builds.toolforge.org/queue` in a path. */
export const pointerToken = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

export class Writer implements ObjectWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly types: ResourceTypes,
    private readonly dryRun = false,
  ) {}

  async typeOf(obj: KubeObject): Promise<ResourceType> {
    const type = await this.types.lookup(obj.apiVersion ?? 'v1', obj.kind ?? '');
    if (!type) throw new Error(`the API server does not serve ${obj.apiVersion} ${obj.kind}`);
    return type;
  }

  /**
   * Server-side apply. `force` takes back fields someone else changed on our object
   * (drift); without it, an object of the same name that someone else owns is refused
   * with a conflict instead of being taken over.
   */
  async apply<T extends KubeObject>(obj: T, force = true): Promise<T> {
    const type = await this.typeOf(obj);
    return this.client.request<T>('PATCH', objectPath(type, obj.metadata.name, obj.metadata.namespace), {
      query: { fieldManager: FIELD_MANAGER, force, dryRun: this.dryRun ? 'All' : undefined },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** Applies a status subresource. */
  async applyStatus<T extends KubeObject>(obj: T): Promise<T> {
    const type = await this.typeOf(obj);
    return this.client.request<T>('PATCH', `${objectPath(type, obj.metadata.name, obj.metadata.namespace)}/status`, {
      query: { fieldManager: FIELD_MANAGER, force: true, dryRun: this.dryRun ? 'All' : undefined },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** Deletes exactly the object seen (by UID), never one that replaced it since. */
  async delete(type: ResourceType, obj: KubeObject, propagationPolicy = 'Background'): Promise<void> {
    await this.client.request('DELETE', objectPath(type, obj.metadata.name, obj.metadata.namespace), {
      query: { dryRun: this.dryRun ? 'All' : undefined },
      body: {
        apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy,
        preconditions: obj.metadata.uid ? { uid: obj.metadata.uid } : undefined,
      },
    });
  }

  /** A JSON merge patch, for the few marks that are not part of the desired state. */
  async mergePatch(type: ResourceType, obj: KubeObject, patch: unknown): Promise<KubeObject> {
    return this.client.request<KubeObject>('PATCH', objectPath(type, obj.metadata.name, obj.metadata.namespace), {
      query: { fieldManager: FIELD_MANAGER, dryRun: this.dryRun ? 'All' : undefined },
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  /**
   * A JSON patch: a change that must apply to exactly the state seen (its `test` operations),
   * or not at all (the API server answers 422 when a test fails).
   */
  async jsonPatch(type: ResourceType, obj: KubeObject, operations: readonly JsonPatchOperation[]): Promise<KubeObject> {
    return this.client.request<KubeObject>('PATCH', objectPath(type, obj.metadata.name, obj.metadata.namespace), {
      query: { fieldManager: FIELD_MANAGER, dryRun: this.dryRun ? 'All' : undefined },
      body: operations,
      contentType: 'application/json-patch+json',
    });
  }

  async create<T extends KubeObject>(type: ResourceType, obj: T): Promise<T> {
    return this.client.request<T>('POST', collectionPath(type, obj.metadata.namespace), {
      query: { dryRun: this.dryRun ? 'All' : undefined, fieldManager: FIELD_MANAGER },
      body: obj,
    });
  }
}
