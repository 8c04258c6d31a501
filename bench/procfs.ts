// CPU time and memory of processes from /proc: the operator's, and that of each control
// plane component, so a phase can say which process held the two cores.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface Stat {
  pid: number;
  name: string;
  ppid: number;
  cpuSeconds: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces; the fields after it are fixed.
  const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, name, ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** User plus system CPU seconds the process has used. */
export function cpuSeconds(pid: number): number {
  return stat(pid)?.cpuSeconds ?? 0;
}

/** RSS and its peak (VmHWM). */
export function memory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

/** Every process below root (not root itself). */
function descendants(root: number): Stat[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => stat(Number(d))).filter((s): s is Stat => s !== undefined);
  const children = new Map<number, Stat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: Stat[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      visit(child.pid);
    }
  };
  visit(root);
  return out;
}

/** CPU seconds of every process below root (not root itself), summed by command name. */
export function descendantsCpu(root: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of descendants(root)) out[s.name] = (out[s.name] ?? 0) + s.cpuSeconds;
  return out;
}

/** RSS and peak RSS (VmHWM) of every process below root, summed by command name. */
export function descendantsMemory(root: number): Record<string, { rssBytes: number; peakRssBytes: number }> {
  const out: Record<string, { rssBytes: number; peakRssBytes: number }> = {};
  for (const s of descendants(root)) {
    try {
      const m = memory(s.pid);
      const sum = (out[s.name] ??= { rssBytes: 0, peakRssBytes: 0 });
      sum.rssBytes += m.rssBytes;
      sum.peakRssBytes += m.peakRssBytes;
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** after - before, per name, rounded to tenths. */
export function cpuBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, s]) => [name, Math.round((s - (before[name] ?? 0)) * 10) / 10]));
}

/** CPU seconds the whole machine has been busy (every core, every process), from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}
