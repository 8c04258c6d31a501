// The work queue's metric hooks (client-go's workqueue metrics); src/metrics adapts them to
// Prometheus, and tests leave them as no-ops.

export interface QueueMetrics {
  depth(keys: number): void;
  added(): void;
  queueDuration(seconds: number): void;
  workDuration(seconds: number): void;
  unfinishedWork(seconds: number): void;
  longestRunningProcessor(seconds: number): void;
  retried(): void;
}

export const noopQueueMetrics: QueueMetrics = {
  depth: () => {},
  added: () => {},
  queueDuration: () => {},
  workDuration: () => {},
  unfinishedWork: () => {},
  longestRunningProcessor: () => {},
  retried: () => {},
};
