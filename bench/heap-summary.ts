// What a V8 heap snapshot (as `make bench BENCH_ARGS=--profile` writes them) holds: self size
// by class, and the objects that retain the most (dominator tree, as DevTools' "Retained
// size"), each also per tool, so that where the memory of a fleet goes can be named without
// opening DevTools.
//
//   node dist-tools/bench/heap-summary.js bench/results/run-*/Heap.*.heapsnapshot --tools 10000 [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface ClassRow {
  name: string;
  count: number;
  selfBytes: number;
}

export interface RetainerRow {
  name: string;
  retainedBytes: number;
}

export interface StringRow {
  value: string;
  copies: number;
  bytes: number;
}

export interface HeapSummary {
  totalBytes: number;
  byClass: ClassRow[];
  retainers: RetainerRow[];
  /** The string values held in the most copies, by the bytes the copies take. */
  duplicated: StringRow[];
}

/** Class names of objects worth naming as retainers: ours and the collections they own. */
const OWN_CLASSES = /^(Informer|InformerCache|RecentWrites|RateLimitingQueue|ToolStatusTracker|EventRecorder|DeletionGuard|Reconciler|BuildNamespaceController|RetentionController|PolicyStatusController|AdmissionPolicyController|BuildQueueController|ReplicationSources|KubeClient|KubeConfig|Manager|Registry|Counter|Gauge|Histogram|Summary|DerivedLogger)$/;

export function summarise(snap: Snapshot, top = 25): HeapSummary {
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSelf = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;

  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + nEdges]! * ef;
    firstEdge[i + 1] = e;
  }
  const followed = (e: number) => edges[e + eType] !== weak && edges[e + eType] !== shortcut;

  const classOf = (i: number): string => {
    const type = nodeTypes[nodes[i * nf + nType]!]!;
    const name = strings[nodes[i * nf + nName]!]!;
    if (type === 'object' || type === 'native') return name;
    if (type.includes('string')) return '(string)';
    if (type === 'closure') return '(closure)';
    if (type === 'array') return '(internal array)';
    if (type === 'code') return '(code)';
    if (type === 'number' || type === 'bigint') return '(number)';
    return `(${type})`;
  };

  let totalBytes = 0;
  const byClass = new Map<string, ClassRow>();
  const strs = new Map<string, StringRow>();
  const plainString = nodeTypes.indexOf('string');
  for (let i = 0; i < count; i++) {
    const self = nodes[i * nf + nSelf]!;
    totalBytes += self;
    if (nodes[i * nf + nType] === plainString) {
      const value = strings[nodes[i * nf + nName]!]!;
      const row = strs.get(value) ?? { value, copies: 0, bytes: 0 };
      row.copies++;
      row.bytes += self;
      strs.set(value, row);
    }
    const name = classOf(i);
    const row = byClass.get(name) ?? { name, count: 0, selfBytes: 0 };
    row.count++;
    row.selfBytes += self;
    byClass.set(name, row);
  }

  // Depth-first postorder from the root (node 0), iteratively: snapshots are deep.
  const order = new Int32Array(count).fill(-1);
  const postorder = new Uint32Array(count);
  let visited = 0;
  {
    const stack = new Uint32Array(count);
    const cursor = new Uint32Array(count);
    const seen = new Uint8Array(count);
    let sp = 0;
    stack[sp++] = 0;
    seen[0] = 1;
    cursor[0] = firstEdge[0]!;
    while (sp > 0) {
      const v = stack[sp - 1]!;
      const end = firstEdge[v + 1]!;
      let pushed = false;
      while (cursor[v]! < end) {
        const e = cursor[v]!;
        cursor[v] = e + ef;
        if (!followed(e)) continue;
        const w = edges[e + eTo]! / nf;
        if (seen[w]) continue;
        seen[w] = 1;
        cursor[w] = firstEdge[w]!;
        stack[sp++] = w;
        pushed = true;
        break;
      }
      if (!pushed) {
        sp--;
        order[v] = visited;
        postorder[visited++] = v;
      }
    }
  }

  // Predecessors of each reachable node (compressed rows).
  const predCount = new Uint32Array(count + 1);
  for (let v = 0; v < count; v++) {
    if (order[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) if (followed(e)) predCount[edges[e + eTo]! / nf]!++;
  }
  const predStart = new Uint32Array(count + 1);
  for (let v = 0; v < count; v++) predStart[v + 1] = predStart[v]! + predCount[v]!;
  const preds = new Uint32Array(predStart[count]!);
  const fill = predStart.slice(0, count);
  for (let v = 0; v < count; v++) {
    if (order[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) {
      if (!followed(e)) continue;
      const w = edges[e + eTo]! / nf;
      preds[fill[w]!++] = v;
    }
  }

  // Cooper, Harvey and Kennedy's iterative dominators, over postorder numbers.
  const idom = new Int32Array(visited).fill(-1);
  const root = order[0]!;
  idom[root] = root;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (a < b) a = idom[a]!;
      while (b < a) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let k = visited - 1; k >= 0; k--) {
      if (k === root) continue;
      const v = postorder[k]!;
      let dom = -1;
      for (let p = predStart[v]!; p < predStart[v + 1]!; p++) {
        const u = order[preds[p]!]!;
        if (u < 0 || idom[u] === -1) continue;
        dom = dom === -1 ? u : intersect(u, dom);
      }
      if (dom !== -1 && idom[k] !== dom) {
        idom[k] = dom;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(visited);
  for (let k = 0; k < visited; k++) retained[k] = nodes[postorder[k]! * nf + nSelf]!;
  for (let k = 0; k < visited; k++) if (k !== root && idom[k]! >= 0) retained[idom[k]!] = retained[idom[k]!]! + retained[k]!;

  // An Informer is named by the plural of its type, its namespace and selector.
  const edgeTo = (v: number, name: string): number | undefined => {
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) {
      const n = edges[e + eName]!;
      if (edgeTypes[edges[e + eType]!] === 'property' && strings[n] === name) return edges[e + eTo]! / nf;
    }
    return undefined;
  };
  const stringAt = (v: number | undefined) =>
    (v === undefined || !nodeTypes[nodes[v * nf + nType]!]!.includes('string') ? undefined : strings[nodes[v * nf + nName]!]);
  const label = (v: number, name: string): string => {
    if (name !== 'Informer') return name;
    const type = edgeTo(v, 'type');
    const options = edgeTo(v, 'options');
    const plural = type === undefined ? '?' : stringAt(edgeTo(type, 'plural'));
    const namespace = options === undefined ? undefined : stringAt(edgeTo(options, 'namespace'));
    const selector = options === undefined ? undefined : stringAt(edgeTo(options, 'labelSelector'));
    return `Informer ${plural}${namespace ? ` in ${namespace}` : ''}${selector ? ` (${selector})` : ''}`;
  };
  const retainers: RetainerRow[] = [];
  for (let k = 0; k < visited; k++) {
    const v = postorder[k]!;
    const name = classOf(v);
    if (!OWN_CLASSES.test(name)) continue;
    retainers.push({ name: label(v, name), retainedBytes: retained[k]! });
  }
  retainers.sort((a, b) => b.retainedBytes - a.retainedBytes);
  return {
    totalBytes,
    byClass: [...byClass.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top),
    retainers: retainers.slice(0, top),
    duplicated: [...strs.values()].filter((r) => r.copies > 1).map((r) => ({ ...r, bytes: r.bytes - r.bytes / r.copies }))
      .sort((a, b) => b.bytes - a.bytes).slice(0, top),
  };
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);

export function formatSummary(summary: HeapSummary, tools: number): string {
  const perTool = (bytes: number) => (tools > 0 ? ` | ${(bytes / tools).toFixed(0)}` : '');
  const head = tools > 0 ? ' | bytes per tool' : '';
  const rule = tools > 0 ? '|---' : '';
  return [
    `live heap (snapshot, after a full GC): ${mb(summary.totalBytes)} MB${tools > 0 ? `, ${kb(summary.totalBytes / tools)} KB per tool (${tools} tools)` : ''}`,
    '',
    `| class | objects | self size (MB)${head} |`,
    `|---|---|---${rule}|`,
    ...summary.byClass.map((r) => `| ${r.name} | ${r.count} | ${mb(r.selfBytes)}${perTool(r.selfBytes)} |`),
    '',
    `| retainer | retained size (MB)${head} |`,
    `|---|---${rule}|`,
    ...summary.retainers.map((r) => `| ${r.name} | ${mb(r.retainedBytes)}${perTool(r.retainedBytes)} |`),
    '',
    `| repeated string (first 40 characters) | copies | bytes beyond one copy (MB)${head} |`,
    `|---|---|---${rule}|`,
    ...summary.duplicated.map((r) => `| \`${JSON.stringify(r.value.slice(0, 40)).slice(1, -1).replace(/\|/g, '\\|')}\` | ${r.copies} | ${mb(r.bytes)}${perTool(r.bytes)} |`),
  ].join('\n');
}

if (process.argv[1]?.endsWith('heap-summary.js')) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, tools: { type: 'string', default: '0' } },
  });
  for (const file of positionals) {
    const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as Snapshot, Number(values.top));
    process.stdout.write(`${file}\n${formatSummary(summary, Number(values.tools))}\n\n`);
  }
}
