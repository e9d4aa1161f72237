// V8 heap snapshots over CDP (a Playwright CDPSession or any object with
// `send(method, params)` and `on(event, fn)`), summarised by constructor,
// and the objects of one snapshot that were not in an earlier one (V8
// keeps an object's snapshot id while it lives), with a retainer path of
// each group's first object: DevTools' "Comparison" view, in text.

/** Takes a snapshot; returns its parsed JSON. */
export async function takeSnapshot(cdp) {
  const chunks = [];
  const onChunk = (e) => chunks.push(e.chunk);
  cdp.on("HeapProfiler.addHeapSnapshotChunk", onChunk);
  await cdp.send("HeapProfiler.enable");
  await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false });
  cdp.off?.("HeapProfiler.addHeapSnapshotChunk", onChunk);
  return parse(JSON.parse(chunks.join("")));
}

function parse(raw) {
  const meta = raw.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const [nType, nName, nId, nSize, nEdges] = ["type", "name", "id", "self_size", "edge_count"]
    .map((f) => meta.node_fields.indexOf(f));
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => meta.edge_fields.indexOf(f));
  const count = raw.nodes.length / nf;
  const nodes = [];
  let edge = 0;
  for (let i = 0; i < count; i++) {
    const o = i * nf;
    nodes.push({
      type: types[raw.nodes[o + nType]],
      name: raw.strings[raw.nodes[o + nName]],
      id: raw.nodes[o + nId],
      size: raw.nodes[o + nSize],
      firstEdge: edge,
      edges: raw.nodes[o + nEdges],
      retainers: [],
    });
    edge += raw.nodes[o + nEdges] * ef;
  }
  for (let i = 0; i < count; i++) {
    const n = nodes[i];
    for (let e = n.firstEdge; e < n.firstEdge + n.edges * ef; e += ef) {
      const type = edgeTypes[raw.edges[e + eType]];
      const nameOrIndex = raw.edges[e + eName];
      const name = type === "element" || type === "hidden" ? `[${nameOrIndex}]` : raw.strings[nameOrIndex];
      nodes[raw.edges[e + eTo] / nf].retainers.push({ from: i, type, name });
    }
  }
  return { nodes };
}

/** The group an object is counted in: strings by their first characters. */
function group(n) {
  if (n.type === "string" || n.type === "concatenated string" || n.type === "sliced string") {
    return `string ${JSON.stringify(n.name.slice(0, 50))}`;
  }
  return `${n.type} ${n.name.slice(0, 80)}`;
}

/** Count and self size per group. */
export function summary(snapshot) {
  const groups = new Map();
  for (const n of snapshot.nodes) {
    const k = group(n);
    const g = groups.get(k) ?? { count: 0, size: 0 };
    g.count++;
    g.size += n.size;
    groups.set(k, g);
  }
  return groups;
}

/** A retainer path of node `i`: strong edges first, up to `depth` steps. */
function retainerPath(snapshot, i, depth = 8) {
  const steps = [];
  const seen = new Set([i]);
  let at = i;
  for (let d = 0; d < depth; d++) {
    const rs = snapshot.nodes[at].retainers.filter((r) => r.type !== "weak" && !seen.has(r.from));
    if (rs.length === 0) break;
    const r = rs[0];
    const from = snapshot.nodes[r.from];
    steps.push(`${r.type}:${r.name} of ${group(from)}${rs.length > 1 ? ` (+${rs.length - 1} more)` : ""}`);
    seen.add(r.from);
    at = r.from;
    if (from.type === "synthetic") break;
  }
  return steps;
}

/**
 * The objects of `after` not in `before`, grouped; the `top` groups by
 * total size, each with a retainer path of one of its objects.
 */
export function newObjects(before, after, top = 25) {
  const old = new Set(before.nodes.map((n) => n.id));
  const groups = new Map();
  after.nodes.forEach((n, i) => {
    if (old.has(n.id)) return;
    const k = group(n);
    const g = groups.get(k) ?? { group: k, count: 0, size: 0, sample: i };
    g.count++;
    g.size += n.size;
    groups.set(k, g);
  });
  const all = [...groups.values()];
  const total = all.reduce((a, g) => ({ count: a.count + g.count, size: a.size + g.size }), { count: 0, size: 0 });
  const rows = all.sort((a, b) => b.size - a.size).slice(0, top)
    .map((g) => ({ ...g, path: retainerPath(after, g.sample) }));
  return { total, rows };
}

/** Growth per group from summary `a` to summary `b`, largest first. */
export function summaryDiff(a, b, top = 25) {
  const rows = [];
  for (const [k, g] of b) {
    const was = a.get(k) ?? { count: 0, size: 0 };
    if (g.size !== was.size || g.count !== was.count) {
      rows.push({ group: k, count: g.count - was.count, size: g.size - was.size });
    }
  }
  for (const [k, g] of a) if (!b.has(k)) rows.push({ group: k, count: -g.count, size: -g.size });
  return rows.sort((x, y) => y.size - x.size).slice(0, top);
}

export function formatNew(label, d) {
  const lines = [`${label}: ${d.total.count} new objects, ${d.total.size} bytes`];
  for (const r of d.rows) {
    lines.push(`  ${String(r.size).padStart(9)} B ${String(r.count).padStart(7)}x  ${r.group}`);
    for (const p of r.path) lines.push(`        <- ${p}`);
  }
  return lines.join("\n");
}
