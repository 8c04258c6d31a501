// `npm run generate`: writes src/api/generated/ from the CRD. With --check it writes nothing
// and fails when a committed file differs from what the CRD gives (make verify-generated).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_PATH, generateAll } from './api-types.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');
const files = await generateAll(readFileSync(join(root, CRD_PATH), 'utf8'));

const stale: string[] = [];
for (const [path, content] of Object.entries(files)) {
  const target = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) stale.push(path);
  else {
    writeFileSync(target, content);
    console.log(`wrote ${path}`);
  }
}
if (stale.length > 0) {
  console.error(`out of date with ${CRD_PATH}: ${stale.join(', ')}; run \`npm run generate\` and commit the result`);
  process.exit(1);
}
