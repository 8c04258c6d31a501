// Runs one control plane for the lifetime of its parent: prints the control plane's
// details as one JSON line once it is ready, and stops it, removing its directory, when
// told to (SIGTERM, SIGINT, SIGHUP) or when the parent goes away (its stdin closes), so
// that an interrupted test run leaves no process and no directory behind.
import { ControlPlane, type ControlPlaneOptions } from './controlplane.js';

async function main(): Promise<void> {
  const options: ControlPlaneOptions = process.env.BNO_CONTROL_PLANE_OPTIONS
    ? (JSON.parse(process.env.BNO_CONTROL_PLANE_OPTIONS) as ControlPlaneOptions)
    : {};
  let plane: ControlPlane | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      await plane?.stop();
      process.exit(code);
    })();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(0));
  process.stdin.on('end', () => stop(0));
  process.stdin.on('error', () => stop(0));
  process.stdin.resume();

  try {
    plane = await ControlPlane.start(options);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    stop(1);
    return;
  }
  if (stopping) return;
  process.stdout.write(`${JSON.stringify(plane.info)}\n`);
}

void main();
