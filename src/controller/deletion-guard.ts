// Holds back deletions of build namespaces when too many would go at once: a bad selector
// edit must not wipe the fleet. A deletion is refused when, counted over the last minute,
// it would exceed both a share of all build namespaces and a fixed count. Once a hold
// starts it lasts until an admin lifts it or no tool wants deleting any more.

export interface DeletionGuardOptions {
  /** Share of all build namespaces that may go within the window (0.1 = 10 %). */
  maxShare: number;
  /** Count that may always go within the window, whatever the share. */
  maxCount: number;
  windowMs: number;
  now?: () => number;
}

export type GuardDecision = { allowed: true } | { allowed: false; held: number; message: string };

export class DeletionGuard {
  private readonly deletedAt: number[] = [];
  private readonly held = new Set<string>();
  private holding = false;
  /** When the current hold started (ms), for the policy status. */
  heldSince?: number;
  private readonly now: () => number;

  constructor(private readonly options: DeletionGuardOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Asks to delete the build namespace of `tool` when `total` build namespaces exist.
   * `lifted` is true while an admin has lifted the hold.
   */
  request(tool: string, total: number, lifted: boolean): GuardDecision {
    const now = this.now();
    while (this.deletedAt.length && now - this.deletedAt[0]! >= this.options.windowMs) this.deletedAt.shift();
    if (lifted) {
      this.release();
    } else {
      const count = this.deletedAt.length + 1;
      const exceeds = count > this.options.maxCount && count > this.options.maxShare * total;
      if (this.holding || exceeds) {
        if (!this.holding) this.heldSince = now;
        this.holding = true;
        this.held.add(tool);
        return {
          allowed: false,
          held: this.held.size,
          message: `holding back the deletion of ${this.held.size} build namespace(s): more than ` +
            `${this.options.maxCount} and ${Math.round(this.options.maxShare * 100)}% of ${total} within ` +
            `${Math.round(this.options.windowMs / 1000)}s; fix the policy or tool namespaces, or lift the hold`,
        };
      }
    }
    this.held.delete(tool);
    this.deletedAt.push(now);
    return { allowed: true };
  }

  /** The tool no longer wants its build namespace deleted (it came back, or matches again). */
  cancel(tool: string): void {
    this.held.delete(tool);
    if (this.held.size === 0) this.release();
  }

  release(): void {
    this.held.clear();
    this.holding = false;
    this.heldSince = undefined;
  }

  get active(): boolean {
    return this.holding;
  }

  get heldTools(): string[] {
    return [...this.held].sort();
  }
}
