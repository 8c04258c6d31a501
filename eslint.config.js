// Lint: the recommended TypeScript rules everywhere, type-checked rules for the product
// (src/), `any` refused outside tests, and the layering of src/ enforced on every import:
// the pure core (api <- policy <- render) does no I/O, only kube talks to the API server
// (and loads the client library only on demand), and nothing in src/ imports the tools around it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** An import that climbs out of src/ into the tools: tests, benchmarks, the demo, envtest. */
const TOOLS = { regex: '^(\\.\\./)+(test|bench|demo|envtest)/', message: 'src/ is the product: it never imports tests, bench, demo or envtest.' };
const CLIENT = { group: ['@kubernetes/client-node', '@kubernetes/client-node/*'], message: 'Only src/kube talks to the API server; use its KubeClient.' };
const LAZY_CLIENT = {
  group: CLIENT.group,
  message: 'Loading client-node costs some 28 MB of heap: only an exec or auth-provider user needs it, through import() in src/kube/credentials.ts.',
};
const IO_MODULES = ['node:fs', 'node:fs/promises', 'node:http', 'node:https', 'node:net', 'node:tls', 'node:dns', 'node:child_process', 'node:os', 'winston', 'prom-client'];
const NO_IO = { group: IO_MODULES, message: 'The pure core (api, policy, render) does no I/O: plain data in, plain data out.' };

/** Imports of sibling layers of src/ that `from` may not use. */
const layer = (from, ...forbidden) => ({
  regex: `^\\.\\./(${forbidden.join('|')})(/|\\.js$)`,
  message: `src/${from} may not import src/${forbidden.join(', src/')}: imports point cli -> runtime/controller -> render -> policy -> api, controller -> kube.`,
});

const PURE = ['kube', 'runtime', 'controller', 'server', 'metrics', 'cli', 'log'];
const RULES = {
  'src/api': [NO_IO, CLIENT, layer('api', 'policy', 'render', ...PURE)],
  'src/policy': [NO_IO, CLIENT, layer('policy', 'render', ...PURE)],
  'src/render': [NO_IO, CLIENT, layer('render', ...PURE)],
  // The edge: the one place that talks to the API server, and loads the client library only when a plugin needs it.
  'src/kube': [LAZY_CLIENT, layer('kube', 'runtime', 'controller', 'server', 'metrics', 'cli')],
  'src/runtime': [CLIENT, layer('runtime', 'controller', 'cli')],
  'src/controller': [CLIENT, layer('controller', 'cli', 'server')],
  'src/metrics': [CLIENT, layer('metrics', 'controller', 'server', 'cli', 'kube')],
  'src/server': [CLIENT, layer('server', 'controller', 'runtime', 'kube', 'cli')],
  'src/cli': [CLIENT],
};

export default tseslint.config(
  { ignores: ['dist/', 'dist-tools/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', globalThis: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // An async method that implements a Promise-returning interface need not await.
      '@typescript-eslint/require-await': 'off',
      'no-restricted-imports': ['error', { patterns: [TOOLS, CLIENT] }],
    },
  },
  ...Object.entries(RULES).map(([dir, patterns]) => ({
    files: [`${dir}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [TOOLS, ...patterns] }] },
  })),
);
