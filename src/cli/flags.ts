// What every command shares: argument parsing on node:util parseArgs, Go-style durations and
// booleans as Kubernetes components take them (--leader-elect=false, --relist-interval=30m),
// usage errors as values, and where output goes.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes; tests and the demo capture it. */
export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export const processIO = (): CommandIO => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});

/** A mistake in the command line: printed with a pointer to --help, exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs, strict, with `--flag=true|false` accepted for boolean flags as Go's flag
 * package does (parseArgs itself refuses a value on a boolean). Returns the values, the
 * positionals and the boolean flags that were explicitly turned off.
 */
export function parseFlags(args: readonly string[], options: Options, allowPositionals = false) {
  const off = new Set<string>();
  const normalized: string[] = [];
  for (const arg of args) {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    const option = m ? options[m[1]!] : undefined;
    if (m && option?.type === 'boolean') {
      const value = parseBoolean(m[2]!, `--${m[1]}`);
      if (value) normalized.push(`--${m[1]}`);
      else off.add(m[1]!);
      continue;
    }
    normalized.push(arg);
  }
  try {
    const parsed = parseArgs({ args: normalized, options, allowPositionals, strict: true });
    for (const name of off) (parsed.values as Record<string, unknown>)[name] = false;
    return parsed;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional argument.*$/s, '') : String(err));
  }
}

export function parseBoolean(text: string, what: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new UsageError(`${what}: "${text}" is not a boolean (true or false)`);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration ("30m", "1h30m", "2.5s", "500ms") or a plain number of seconds, in seconds. */
export function parseDuration(text: string, what: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let seconds = 0;
  let end = 0;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    seconds += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    end = part.lastIndex;
  }
  if (text === '' || end !== text.length) {
    throw new UsageError(`${what}: "${text}" is not a duration (such as 30s, 15m, 1h30m, or a number of seconds)`);
  }
  return seconds;
}

/** A duration for display: 1800 -> "30m", 15 -> "15s", 0.5 -> "500ms". */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round((seconds % 60) * 1000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

export function parseInteger(text: string, what: string, min: number): number {
  if (!/^-?\d+$/.test(text) || Number(text) < min) throw new UsageError(`${what}: "${text}" is not an integer of at least ${min}`);
  return Number(text);
}

export function parseNumber(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${what}: "${text}" is not a number from ${min} to ${max}`);
  }
  return n;
}

/** "host:port", ":port" or "[::1]:port", as controller-runtime's bind-address flags take. */
export function parseBindAddress(text: string, what: string): string {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535 || /\s/.test(m[1]!)) throw new UsageError(`${what}: "${text}" is not an address such as :8080 or 127.0.0.1:8080`);
  return text;
}

/** The help of one flag, aligned: "  --name VALUE   what it does". */
export function flagHelp(rows: readonly [string, string][]): string {
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}   ${text}`).join('\n') + '\n';
}

export const KUBECONFIG_HELP: [string, string] = ['--kubeconfig PATH', 'kubeconfig file (default: $KUBECONFIG, in-cluster credentials, ~/.kube/config)'];

/** The promise, or a rejection with `message` once `seconds` have passed. */
export function withTimeout<T>(promise: Promise<T>, seconds: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), seconds * 1000);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
