// The command line: run (the default) | plan | render | status | help. Each command parses its
// own flags and returns its exit code; usage mistakes print a pointer to --help and exit 1.
//
// Commands are imported when used: the Kubernetes client library alone takes half a second to
// load, which `render` and every --help do without.
import { readFileSync } from 'node:fs';
import { UsageError, type CommandIO } from './flags.js';

export const PROGRAM = 'build-namespace-operator';

interface CommandModule {
  help: string;
  main: (args: readonly string[], io: CommandIO) => Promise<number>;
}

interface Command {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'run the operator (the default command)',
    load: async () => import('./run.js').then((m) => ({ help: m.RUN_HELP, main: m.runCommand })),
  },
  plan: {
    summary: 'show what run would change now; exit 2 when changes are pending',
    load: async () => import('./plan.js').then((m) => ({ help: m.PLAN_HELP, main: m.planCommand })),
  },
  render: {
    summary: "print a tool's build namespace for policy files, offline",
    load: async () => import('./render.js').then((m) => ({ help: m.RENDER_HELP, main: m.renderCommand })),
  },
  status: {
    summary: 'one row per tool: ready, quota in use, running builds',
    load: async () => import('./status.js').then((m) => ({ help: m.STATUS_HELP, main: m.statusCommand })),
  },
};

export const MAIN_HELP = `Usage: ${PROGRAM} [COMMAND] [flags]

Gives every tool of a shared cluster its own fenced image-build namespace.

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`).join('\n')}
  help     show the help of a command (also: COMMAND --help)

Without a command, runs the operator with the flags given.
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs the command line; resolves with the exit code. */
export async function cli(argv: readonly string[], io: CommandIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help') {
    io.out(MAIN_HELP);
    return 0;
  }
  if (first === '--version' || first === 'version') {
    io.out(`${PROGRAM} ${version()}\n`);
    return 0;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) io.out(MAIN_HELP);
    else if (COMMANDS[topic]) io.out((await COMMANDS[topic].load()).help);
    else {
      io.err(`unknown command "${topic}"\n\n${MAIN_HELP}`);
      return 1;
    }
    return 0;
  }
  // No command, or flags first: `run`, so that the image's args may be run flags alone.
  const name = first === undefined || first.startsWith('-') ? 'run' : first;
  const command = COMMANDS[name];
  if (!command) {
    io.err(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')} (${PROGRAM} --help)\n`);
    return 1;
  }
  const args = name === first ? rest : argv;
  try {
    return await (await command.load()).main(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${name}: ${err.message}\nSee '${PROGRAM} ${name} --help'.\n`);
      return 1;
    }
    io.err(`${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
