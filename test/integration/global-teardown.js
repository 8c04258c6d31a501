// Stops the shared control plane; its supervisor removes the data directory.
export default async function globalTeardown() {
  await globalThis.bnoControlPlane?.stop();
}
