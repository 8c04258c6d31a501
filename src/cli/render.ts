// `render`: offline, no API server. What a tool's build namespace would hold under the given
// policies: each policy validated as the API server would, layered as the operator layers
// them, rendered as the operator renders them. For reviewing a policy change before applying it.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { validatePolicy } from '../api/validate.js';
import { toolNamespaceName } from '../api/tool.js';
import { LABEL_TENANCY, LABEL_TOOL_NAMESPACE_NAME, TENANCY_TOOL, type BuildQuotaPolicy } from '../api/types.js';
import { effectivePolicy } from '../policy/index.js';
import { renderBuildNamespace } from '../render/index.js';
import { flagHelp, parseFlags, UsageError, type CommandIO } from './flags.js';

export const RENDER_HELP = `Usage: build-namespace-operator render --tool NAME -f POLICY.yaml [-f ...] [--label KEY=VALUE ...] [-o yaml|json]

Prints the objects the operator would keep in the build namespace of tool NAME, given the
BuildQuotaPolicies in the files, without an API server. Every policy is first validated
as the API server would validate it. The tool namespace is taken to be tool-NAME with the
labels maintain_kubeusers gives it (name: tool-NAME, tenancy: tool) plus any --label.

Exit status: 0 rendered, 1 an invalid policy, no policy matching the tool, or another error.

Flags:
${flagHelp([
    ['--tool NAME', 'the tool (required)'],
    ['-f, --filename FILE', 'YAML file of BuildQuotaPolicies, several documents allowed; repeatable; - for stdin'],
    ['-l, --label KEY=VALUE', 'another label on the tool namespace; repeatable'],
    ['-o, --output FORMAT', 'yaml (default) or json'],
    ['-h, --help', 'show this help'],
  ])}`;

export interface LoadedPolicy {
  source: string;
  policy: BuildQuotaPolicy;
}

/** Every document of the files; problems as lines a person can act on. */
export function loadPolicies(files: readonly { name: string; text: string }[]): { policies: LoadedPolicy[]; problems: string[] } {
  const policies: LoadedPolicy[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    let docs: unknown[];
    try {
      docs = yaml.loadAll(file.text);
    } catch (err) {
      problems.push(`${file.name}: not YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      continue;
    }
    docs.forEach((doc, i) => {
      if (doc === null || doc === undefined) return;
      const name = (doc as { metadata?: { name?: unknown } }).metadata?.name;
      const source = `${file.name}, document ${i + 1}${typeof name === 'string' ? ` (${name})` : ''}`;
      const issues = validatePolicy(doc);
      if (issues.length) {
        problems.push(`${source} is not a valid BuildQuotaPolicy:`, ...issues.map((x) => `  ${x.field || '(object)'}: ${x.message}`));
        return;
      }
      const policy = doc as BuildQuotaPolicy;
      const earlier = seen.get(policy.metadata.name);
      if (earlier) {
        problems.push(`${source}: a policy named ${policy.metadata.name} is already in ${earlier}`);
        return;
      }
      seen.set(policy.metadata.name, source);
      policies.push({ source, policy });
    });
  }
  return { policies, problems };
}

export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new UsageError(`--label: "${pair}" is not KEY=VALUE`);
    labels[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return labels;
}

export async function renderCommand(args: readonly string[], io: CommandIO, readStdin = () => readFileSync(0, 'utf8')): Promise<number> {
  const { values } = parseFlags(args, {
    tool: { type: 'string' },
    filename: { type: 'string', short: 'f', multiple: true },
    label: { type: 'string', short: 'l', multiple: true },
    output: { type: 'string', short: 'o', default: 'yaml' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(RENDER_HELP);
    return 0;
  }
  const tool = values.tool as string | undefined;
  const files = (values.filename as string[] | undefined) ?? [];
  const output = values.output as string;
  if (!tool) throw new UsageError('--tool is required');
  if (!files.length) throw new UsageError('at least one -f POLICY.yaml is required');
  if (!['yaml', 'json'].includes(output)) throw new UsageError(`--output: "${output}" is not yaml or json`);

  const namespace = toolNamespaceName(tool);
  const labels = { [LABEL_TOOL_NAMESPACE_NAME]: namespace, [LABEL_TENANCY]: TENANCY_TOOL, ...parseLabels((values.label as string[] | undefined) ?? []) };
  const texts: { name: string; text: string }[] = [];
  for (const name of files) {
    try {
      texts.push({ name: name === '-' ? '<stdin>' : name, text: name === '-' ? readStdin() : readFileSync(name, 'utf8') });
    } catch (err) {
      io.err(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }
  const { policies, problems } = loadPolicies(texts);
  if (problems.length) {
    io.err(`${problems.join('\n')}\n`);
    return 1;
  }

  const effective = effectivePolicy(tool, { name: namespace, labels }, policies.map((p) => p.policy));
  if (!effective) {
    io.err(`no policy matches tool ${tool} (namespace ${namespace} with labels ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ')}); ` +
      'the operator would give it no build namespace\n');
    return 1;
  }
  const rendered = renderBuildNamespace(tool, effective, { ready: true });
  if (!rendered.ok) {
    io.err(`tool ${tool}: ${rendered.error.reason}: ${rendered.error.message}\n`);
    return 1;
  }
  if (output === 'json') {
    io.out(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rendered.value }, null, 2)}\n`);
  } else {
    const header = `# The build namespace of tool ${tool}, shaped by ${effective.sources.join(', ')} (strongest first).\n`;
    io.out(header + rendered.value.map((o) => `---\n${yaml.dump(o, { lineWidth: -1, noRefs: true })}`).join(''));
  }
  return 0;
}
