// Holds back deletions of build namespaces when too many would go at once: a bad selector
// edit must not wipe the fleet. A deletion is refused when, counted over the last minute,
// it would exceed both a share of all build namespaces and a fixed count. Once a hold
// starts it lasts until an admin lifts it or no tool wants deleting any more.
//
// What it counts and holds lives in the cluster (a DeletionGuardStore), read back before
// the first decision, so a restart, a crash or a new leader starts where the last one
// stopped instead of letting another share of the fleet go. Every deletion it lets
// through and the start of every hold are written before the caller acts on them;
// changes that can only err on the safe side (the list of held tools, a release) are
// written a moment later, coalesced.
import {
  GuardConflict, MemoryGuardStore, type DeletionGuardState, type DeletionGuardStore,
} from '../kube/deletion-guard-store.js';

export interface DeletionGuardOptions {
  /** Share of all build namespaces that may go within the window (0.1 = 10 %). */
  maxShare: number;
  /** Count that may always go within the window, whatever the share. */
  maxCount: number;
  windowMs: number;
  now?: () => number;
  /** How long a change of the held list may wait to be written with the next ones. */
  flushDelayMs?: number;
  /** Told of a deferred write that failed (it is tried again with the next change). */
  onError?: (err: unknown) => void;
}

/** One build namespace that reconcile wants to delete. */
export interface DeletionRequest {
  tool: string;
  namespace: string;
}

export type GuardDecision =
  | { allowed: true }
  | {
    allowed: false;
    held: number;
    /** The same for the whole of one hold, so an Event about it is said once. */
    message: string;
    /** This request started the hold: the moment to tell admins, once. */
    started: boolean;
  };

const MAX_CONFLICT_RETRIES = 3;

export class DeletionGuard {
  private deletedAt: number[] = [];
  private held = new Set<string>();
  /** When the current hold started (ms), for the policy status; undefined while none is. */
  heldSince?: number;
  private version?: string;
  private loaded = false;
  /** Tools that came back before the state was read: not held, whatever it says. */
  private readonly cancelledBeforeLoad = new Set<string>();
  private dirty = false;
  private flushTimer?: NodeJS.Timeout;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(
    private readonly options: DeletionGuardOptions,
    private readonly store: DeletionGuardStore = new MemoryGuardStore(),
  ) {
    this.now = options.now ?? Date.now;
  }

  /** One decision or write at a time: each starts from what the last one left. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Reads the stored state. Until it has been read, no deletion is let through. */
  load(): Promise<void> {
    return this.exclusive(() => this.reload());
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  private async reload(): Promise<void> {
    const { state, version } = await this.store.load();
    this.deletedAt = [...state.deletedAt];
    this.held = new Set(state.held);
    this.heldSince = state.heldSince;
    this.version = version;
    this.loaded = true;
    this.dirty = false;
    for (const tool of this.cancelledBeforeLoad) this.dropHeld(tool);
    this.cancelledBeforeLoad.clear();
    // A hold with nobody held (a hand edit) has no cause left.
    if (this.held.size === 0) this.release();
    if (this.dirty) this.scheduleFlush();
  }

  private snapshot(): DeletionGuardState {
    return {
      deletedAt: [...this.deletedAt],
      held: [...this.held].sort(),
      ...(this.heldSince === undefined ? {} : { heldSince: this.heldSince }),
    };
  }

  private restore(state: DeletionGuardState): void {
    this.deletedAt = [...state.deletedAt];
    this.held = new Set(state.held);
    this.heldSince = state.heldSince;
  }

  private async persist(): Promise<void> {
    this.version = await this.store.save(this.snapshot(), this.version);
    this.dirty = false;
  }

  /**
   * Asks to delete one build namespace when `total` build namespaces exist. `lifted` is
   * true while an admin has lifted the hold. Resolves only once what it decided is stored.
   */
  request(deletion: DeletionRequest, total: number, lifted: boolean): Promise<GuardDecision> {
    return this.exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        if (!this.loaded) await this.reload();
        const before = this.snapshot();
        const { decision, urgent } = this.decide(deletion.tool, total, lifted);
        try {
          if (urgent) await this.persist();
          else if (this.dirty) this.scheduleFlush();
          return decision;
        } catch (err) {
          // Nothing was decided: the caller deletes nothing and retries.
          this.restore(before);
          if (!(err instanceof GuardConflict) || attempt >= MAX_CONFLICT_RETRIES) throw err;
          this.loaded = false;
        }
      }
    });
  }

  private decide(tool: string, total: number, lifted: boolean): { decision: GuardDecision; urgent: boolean } {
    const now = this.now();
    const { maxCount, maxShare, windowMs } = this.options;
    this.deletedAt = this.deletedAt.filter((t) => now - t < windowMs);
    if (lifted) {
      this.release();
    } else {
      const count = this.deletedAt.length + 1;
      const exceeds = count > maxCount && count > maxShare * total;
      if (this.active || exceeds) {
        const started = !this.active;
        if (started) this.heldSince = now;
        if (!this.held.has(tool)) {
          this.held.add(tool);
          this.dirty = true;
        }
        return {
          decision: {
            allowed: false,
            held: this.held.size,
            started,
            message: `holding back build namespace deletions: more than ${maxCount} and ${Math.round(maxShare * 100)}% of ` +
              `all build namespaces would go within ${Math.round(windowMs / 1000)}s; see status.deletionHold of the ` +
              'BuildQuotaPolicies; fix the selector or tool namespaces, or lift the hold',
          },
          // A hold that is not stored before the next leader decides is no hold.
          urgent: started,
        };
      }
    }
    this.held.delete(tool);
    this.deletedAt.push(now);
    // Counted before the caller deletes: a crash after the deletion cannot forget it.
    return { decision: { allowed: true }, urgent: true };
  }

  /** The tool no longer wants its build namespace deleted (it came back, or matches again). */
  async cancel(tool: string): Promise<void> {
    if (!this.loaded) {
      this.cancelledBeforeLoad.add(tool);
      return;
    }
    if (!this.held.has(tool)) return;
    await this.exclusive(async () => {
      this.dropHeld(tool);
      this.scheduleFlush();
    });
  }

  private dropHeld(tool: string): void {
    if (!this.held.delete(tool)) return;
    this.dirty = true;
    if (this.held.size === 0) this.release();
  }

  private release(): void {
    if (this.held.size || this.heldSince !== undefined) this.dirty = true;
    this.held.clear();
    this.heldSince = undefined;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch((err: unknown) => this.options.onError?.(err));
    }, this.options.flushDelayMs ?? 200);
    this.flushTimer.unref();
  }

  /** Writes what is waiting to be written (on shutdown, and from the timer). */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      if (!this.dirty || !this.loaded) return;
      try {
        await this.persist();
      } catch (err) {
        // Someone else wrote: theirs is newer than our deferred change.
        if (err instanceof GuardConflict) await this.reload();
        else {
          this.scheduleFlush();
          throw err;
        }
      }
    });
  }

  get active(): boolean {
    return this.heldSince !== undefined;
  }

  get heldTools(): string[] {
    return [...this.held].sort();
  }
}
