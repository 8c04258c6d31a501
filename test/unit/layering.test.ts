// The import direction of src/ is enforced by ESLint, not by good intentions: each case
// lints an import at a real path of src/ and expects the layering rule to refuse it, or not.
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function refusals(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const _probe = probe;\n`, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layering of src/', () => {
  it.each([
    { name: 'render may not reach the API server', file: 'src/render/names.ts', source: "import { KubeClient as probe } from '../kube/client.js';", refused: /src\/render may not import/ },
    { name: 'the pure core does no I/O', file: 'src/policy/select.ts', source: "import { readFileSync as probe } from 'node:fs';", refused: /does no I\/O/ },
    { name: 'api may not import policy', file: 'src/api/tool.ts', source: "import { effectivePolicy as probe } from '../policy/index.js';", refused: /src\/api may not import/ },
    { name: 'src/ never imports the tools', file: 'src/controller/plan.ts', source: "import { eventually as probe } from '../../envtest/cluster.js';", refused: /never imports tests, bench, demo or envtest/ },
    { name: 'server never imports controllers', file: 'src/server/http.ts', source: "import { BuildNamespaceController as probe } from '../controller/build-namespaces.js';", refused: /src\/server may not import/ },
    { name: 'only kube imports the client library', file: 'src/runtime/cache.ts', source: "import { KubeConfig as probe } from '@kubernetes/client-node';", refused: /Only src\/kube talks to the API server/ },
    { name: 'even kube loads the client library only on demand', file: 'src/kube/credentials.ts', source: "import { KubeConfig as probe } from '@kubernetes/client-node';", refused: /only an exec or auth-provider user needs it/ },
    { name: 'runtime never imports controllers', file: 'src/runtime/manager.ts', source: "import { addControllers as probe } from '../controller/setup.js';", refused: /src\/runtime may not import/ },
  ])('refuses: $name', async ({ file, source, refused }) => {
    const messages = await refusals(file, source);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(refused);
  }, 60_000);

  it.each([
    { name: 'render imports policy', file: 'src/render/names.ts', source: "import { effectivePolicy as probe } from '../policy/index.js';" },
    { name: 'controllers import the runtime', file: 'src/controller/plan.ts', source: "import { Manager as probe } from '../runtime/manager.js';" },
  ])('allows: $name', async ({ file, source }) => {
    expect(await refusals(file, source)).toEqual([]);
  }, 60_000);
});
