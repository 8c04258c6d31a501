// How the demo and the dev cluster end, one way for both: exit 0 after the script, 1 after a
// failure (having stopped what it started), 130 on a signal while it works; a signal while it
// waits to be stopped (--keep) ends the wait instead, and the script stops cleanly.
export function runScript(
  what: string,
  main: (untilSignal: () => Promise<void>) => Promise<void>,
  stopAll: () => Promise<void>,
): void {
  let stopWaiting: (() => void) | undefined;
  let interrupted = false;
  const onSignal = () => {
    if (stopWaiting) return stopWaiting();
    if (interrupted) return;
    interrupted = true;
    process.stdout.write('\ninterrupted; stopping\n');
    void stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const untilSignal = () => new Promise<void>((resolve) => (stopWaiting = resolve));
  main(untilSignal).then(
    () => process.exit(0),
    async (err: unknown) => {
      process.stderr.write(`\n${what} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      await stopAll().catch(() => undefined);
      process.exit(1);
    },
  );
}
