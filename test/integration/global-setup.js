// Starts the one control plane that every integration test file of a Jest run shares.
// Plain JavaScript on the compiled harness: Jest loads global setup outside its module
// mapper, so it runs what `make build` produced (make test builds first).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const spawnModule = fileURLToPath(new URL('../../dist-tools/envtest/spawn.js', import.meta.url));

export default async function globalSetup() {
  if (!existsSync(spawnModule)) throw new Error('the harness is not compiled: run "make test" (or "npm run build" first)');
  const { startSupervisedControlPlane } = await import(spawnModule);
  const started = Date.now();
  const plane = await startSupervisedControlPlane();
  globalThis.bnoControlPlane = plane;
  // Workers start after global setup and inherit the environment.
  process.env.BNO_CONTROL_PLANE = JSON.stringify(plane.info);
  process.stderr.write(`\ncontrol plane ready at ${plane.info.server} in ${Date.now() - started} ms\n`);
}
