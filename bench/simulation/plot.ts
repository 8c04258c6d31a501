// The start-delay plot as SVG, written by hand (no charting dependency), and its PNG
// through rsvg-convert (Debian's librsvg2-bin) where that is installed.
import { execFileSync } from 'node:child_process';
import { startDelaySeconds, summariseByTool, type BuildRecord } from './stats.js';

export interface PlotPanel {
  title: string;
  subtitle: string;
  builds: BuildRecord[];
  /** Builds that had not started when this panel's run ended are drawn at the right edge. */
  windowSeconds: number;
}

const WIDTH_PER_PANEL = 330;
const LEFT = 56;
const TOP = 92;
const ROW = 26;
const BOTTOM = 78;
const PLOT_WIDTH = WIDTH_PER_PANEL - 40;
const COLOURS = ['#1b6ac9', '#c0392b', '#1e8449'];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (tool: string) => tool.toUpperCase();

/** Log-scale position of a delay in seconds, 0..PLOT_WIDTH over [lo, hi]. */
function xOf(seconds: number, lo: number, hi: number): number {
  const s = Math.min(Math.max(seconds, lo), hi);
  return ((Math.log10(s) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PLOT_WIDTH;
}

const TICKS: [number, string][] = [[1, '1 s'], [10, '10 s'], [60, '1 min'], [600, '10 min'], [3600, '1 h']];

/** One panel per scenario, tools as rows, one dot per build on a shared log axis, the median as a bar. */
export function startDelaySvg(panels: PlotPanel[], title: string): string {
  const tools = [...new Set(panels.flatMap((p) => p.builds.map((b) => b.tool)))].sort();
  const finite = panels.flatMap((p) => p.builds.map(startDelaySeconds)).filter((d) => Number.isFinite(d));
  const lo = 0.5;
  const hi = Math.max(10, ...panels.map((p) => p.windowSeconds), ...finite) * 1.15;
  const height = TOP + tools.length * ROW + BOTTOM;
  const width = LEFT + panels.length * WIDTH_PER_PANEL;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`);
  tools.forEach((tool, i) => {
    out.push(`<text x="${LEFT - 10}" y="${TOP + i * ROW + ROW / 2 + 4}" text-anchor="end" font-size="12">${escape(label(tool))}</text>`);
  });
  out.push(`<text x="14" y="${TOP + (tools.length * ROW) / 2}" font-size="12" transform="rotate(-90 14 ${TOP + (tools.length * ROW) / 2})" text-anchor="middle">tool</text>`);

  panels.forEach((panel, p) => {
    const x0 = LEFT + p * WIDTH_PER_PANEL;
    const colour = COLOURS[p % COLOURS.length]!;
    out.push(`<text x="${x0 + PLOT_WIDTH / 2}" y="52" text-anchor="middle" font-size="14" font-weight="bold">${escape(panel.title)}</text>`);
    out.push(`<text x="${x0 + PLOT_WIDTH / 2}" y="70" text-anchor="middle" font-size="11" fill="#555">${escape(panel.subtitle)}</text>`);
    out.push(`<rect x="${x0}" y="${TOP}" width="${PLOT_WIDTH}" height="${tools.length * ROW}" fill="#fafafa" stroke="#999"/>`);
    for (const [tick, text] of TICKS) {
      if (tick < lo || tick > hi) continue;
      const x = x0 + xOf(tick, lo, hi);
      out.push(`<line x1="${x}" y1="${TOP}" x2="${x}" y2="${TOP + tools.length * ROW}" stroke="#ddd"/>`);
      out.push(`<text x="${x}" y="${TOP + tools.length * ROW + 16}" text-anchor="middle" font-size="10">${text}</text>`);
    }
    tools.forEach((_tool, i) => {
      if (i % 2 === 1) out.push(`<rect x="${x0 + 1}" y="${TOP + i * ROW}" width="${PLOT_WIDTH - 2}" height="${ROW}" fill="#f0f0f0" opacity="0.6"/>`);
    });
    const summaries = new Map(summariseByTool(panel.builds).map((s) => [s.tool, s]));
    tools.forEach((tool, i) => {
      const mine = panel.builds.filter((b) => b.tool === tool && !b.refusedAtSubmit);
      const yMid = TOP + i * ROW + ROW / 2;
      // The median first, so that the dots stay visible on top of it.
      const median = summaries.get(tool)?.p50;
      if (median !== undefined && Number.isFinite(median)) {
        const x = x0 + xOf(median, lo, hi);
        out.push(`<line x1="${x.toFixed(1)}" y1="${yMid - 11}" x2="${x.toFixed(1)}" y2="${yMid + 11}" stroke="black" stroke-width="2"/>`);
      }
      mine.forEach((b, j) => {
        const d = startDelaySeconds(b);
        // A small fixed vertical spread, so that 50 builds of one tool do not hide each other.
        const y = yMid + (mine.length > 1 ? ((j % 7) - 3) * 2.2 : 0);
        if (Number.isFinite(d)) {
          out.push(`<circle cx="${(x0 + xOf(d, lo, hi)).toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${colour}" fill-opacity="0.55"/>`);
        } else {
          out.push(`<circle cx="${(x0 + PLOT_WIDTH - 4).toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="none" stroke="${colour}"/>`);
        }
      });
    });
    out.push(`<text x="${x0 + PLOT_WIDTH / 2}" y="${TOP + tools.length * ROW + 34}" text-anchor="middle" font-size="11">start delay (creation → pod running), log scale</text>`);
  });

  const ly = height - 18;
  out.push(`<circle cx="${LEFT + 6}" cy="${ly - 4}" r="3" fill="#555" fill-opacity="0.6"/>`);
  out.push(`<text x="${LEFT + 14}" y="${ly}" font-size="11">one build</text>`);
  out.push(`<line x1="${LEFT + 92}" y1="${ly - 12}" x2="${LEFT + 92}" y2="${ly + 2}" stroke="black" stroke-width="2"/>`);
  out.push(`<text x="${LEFT + 100}" y="${ly}" font-size="11">median of the tool</text>`);
  out.push(`<circle cx="${LEFT + 236}" cy="${ly - 4}" r="3" fill="none" stroke="#555"/>`);
  out.push(`<text x="${LEFT + 244}" y="${ly}" font-size="11">not started when the run ended (drawn at the right edge)</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Renders the SVG file to PNG; false (and the SVG stays) when rsvg-convert is not installed. */
export function svgToPng(svgPath: string, pngPath: string): boolean {
  try {
    execFileSync('rsvg-convert', ['--format=png', '--zoom=1.5', `--output=${pngPath}`, svgPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
