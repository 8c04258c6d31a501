// Plain-text tables in kubectl's style: upper-case headers, columns padded to the widest
// cell and separated by three spaces, no borders, no trailing spaces.

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/** A value shown in a table cell: JSON for structures, "<absent>" for a field that is not set. */
export function cell(value: unknown, maxLength = 80): string {
  if (value === undefined) return '<absent>';
  // JSON.stringify gives undefined only for functions and symbols, which no object holds.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
