// Where the mass-deletion guard keeps what it must not forget across a restart, a crash or
// a change of leader: a ConfigMap of its own in the operator's namespace, written only with
// the resourceVersion it was read at, so that two processes can never both believe they
// counted the same window.
import { ApiError, isConflict, isNotFound, type KubeClient } from './client.js';
import { collectionPath, CONFIG_MAPS, objectPath } from './resources.js';
import type { KubeObject } from '../api/meta.js';

export const DELETION_GUARD_CONFIG_MAP = 'build-namespace-operator-deletion-guard';
/** The operator's own namespace, as manifests/ makes it. */
export const OPERATOR_NAMESPACE = 'build-namespace-operator';
const STATE_KEY = 'state.json';

/** What the guard needs to decide as it would have before a restart. */
export interface DeletionGuardState {
  /** When each deletion inside the window was let through (ms since the epoch). */
  deletedAt: number[];
  /** The tools whose build namespace deletion is held, sorted. */
  held: string[];
  /** When the hold in force started (ms since the epoch); undefined while none is. */
  heldSince?: number;
}

export interface StoredGuardState {
  state: DeletionGuardState;
  /** The resourceVersion read; undefined while nothing is stored yet. */
  version?: string;
}

export interface DeletionGuardStore {
  load(): Promise<StoredGuardState>;
  /**
   * Writes the state over the version read; a GuardConflict when someone else wrote since
   * (or deleted it). Resolves with the new version.
   */
  save(state: DeletionGuardState, version: string | undefined): Promise<string | undefined>;
}

/** The stored state changed since it was read: read it again and decide again. */
export class GuardConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardConflict';
  }
}

export const EMPTY_GUARD_STATE: DeletionGuardState = { deletedAt: [], held: [] };

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The stored form: times as RFC 3339, readable with `kubectl get configmap -o yaml`. */
interface StoredForm {
  deletedAt: string[];
  held: string[];
  heldSince?: string;
}

export class ConfigMapGuardStore implements DeletionGuardStore {
  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly name = DELETION_GUARD_CONFIG_MAP,
  ) {}

  async load(): Promise<StoredGuardState> {
    let cm: ConfigMap;
    try {
      cm = await this.client.request<ConfigMap>('GET', objectPath(CONFIG_MAPS, this.name, this.namespace));
    } catch (err) {
      if (isNotFound(err)) return { state: { ...EMPTY_GUARD_STATE } };
      throw err;
    }
    return { state: parseState(cm.data?.[STATE_KEY], `${this.namespace}/${this.name}`), version: cm.metadata.resourceVersion };
  }

  async save(state: DeletionGuardState, version: string | undefined): Promise<string | undefined> {
    const stored: StoredForm = {
      deletedAt: state.deletedAt.map((t) => new Date(t).toISOString()),
      held: state.held,
      ...(state.heldSince === undefined ? {} : { heldSince: new Date(state.heldSince).toISOString() }),
    };
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'build-namespace-operator', 'app.kubernetes.io/component': 'deletion-guard' },
        ...(version ? { resourceVersion: version } : {}),
      },
      data: { [STATE_KEY]: `${JSON.stringify(stored, null, 1)}\n` },
    };
    try {
      const written = version
        ? await this.client.request<ConfigMap>('PUT', objectPath(CONFIG_MAPS, this.name, this.namespace), { body })
        : await this.client.request<ConfigMap>('POST', collectionPath(CONFIG_MAPS, this.namespace), { body });
      return written.metadata.resourceVersion;
    } catch (err) {
      // 409: written by another process since we read it (or created meanwhile); 404: deleted.
      if (isConflict(err) || (version && isNotFound(err))) throw new GuardConflict((err as ApiError).message);
      throw err;
    }
  }
}

/** The guard's memory in this process only: for `plan`'s what-if and for unit tests. */
export class MemoryGuardStore implements DeletionGuardStore {
  private version = 0;
  writes = 0;

  constructor(private state: DeletionGuardState = { ...EMPTY_GUARD_STATE }) {}

  async load(): Promise<StoredGuardState> {
    return { state: structuredClone(this.state), version: this.version ? String(this.version) : undefined };
  }

  async save(state: DeletionGuardState, version: string | undefined): Promise<string | undefined> {
    if ((version ?? '') !== (this.version ? String(this.version) : '')) throw new GuardConflict('changed since read');
    this.state = structuredClone(state);
    this.writes++;
    return String(++this.version);
  }
}

/** A store that reads from another and never writes: `plan` shows, it does not count. */
export function readOnlyStore(store: DeletionGuardStore): DeletionGuardStore {
  return { load: () => store.load(), save: async (_state, version) => version };
}

function parseState(text: string | undefined, where: string): DeletionGuardState {
  if (!text) return { ...EMPTY_GUARD_STATE };
  let raw: Partial<StoredForm>;
  try {
    raw = JSON.parse(text) as Partial<StoredForm>;
  } catch {
    // A hand edit that broke it must not lift a hold: refuse to decide until it is fixed.
    throw new Error(`the deletion guard's state in ConfigMap ${where} is not JSON; fix or delete it`);
  }
  const times = (values: unknown) => (Array.isArray(values) ? values.map((v) => Date.parse(String(v))).filter((t) => !Number.isNaN(t)) : []);
  const heldSince = raw.heldSince ? Date.parse(raw.heldSince) : NaN;
  return {
    deletedAt: times(raw.deletedAt).sort((a, b) => a - b),
    held: Array.isArray(raw.held) ? raw.held.map(String).sort() : [],
    ...(Number.isNaN(heldSince) ? {} : { heldSince }),
  };
}
