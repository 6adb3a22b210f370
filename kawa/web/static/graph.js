// Pictures of a workflow: the graph at the DSL's node positions (coloured by a run's node status) and a Gantt
// timeline of a run's node executions. Both are plain SVG.
import { svg } from "./dom.js";

const NODE_W = 200;
const NODE_H = 48;

export function drawGraph(graph, statusOf = {}, onSelect = null) {
  const nodes = graph.nodes.filter((n) => !n.parent);
  if (!nodes.length) return null;
  const minX = Math.min(...nodes.map((n) => n.x)) - 20;
  const minY = Math.min(...nodes.map((n) => n.y)) - 20;
  const maxX = Math.max(...nodes.map((n) => n.x)) + NODE_W + 20;
  const maxY = Math.max(...nodes.map((n) => n.y)) + NODE_H + 20;
  const at = Object.fromEntries(nodes.map((n) => [n.id, n]));
  const edges = graph.edges
    .filter((e) => at[e.source] && at[e.target])
    .map((e) => {
      const a = at[e.source];
      const b = at[e.target];
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x;
      const y2 = b.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      const ran = statusOf[e.source] && statusOf[e.target];
      return svg("path", {
        d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
        class: ran ? "edge ran" : "edge",
        "marker-end": "url(#arrow)",
      });
    });
  const boxes = nodes.map((n) => {
    const status = statusOf[n.id] || "idle";
    const group = svg(
      "g",
      {
        class: `node status-${status}`,
        transform: `translate(${n.x},${n.y})`,
        tabindex: onSelect ? 0 : null,
        role: onSelect ? "button" : "img",
        "aria-label": `${n.title} (${n.type}): ${status}`,
        "data-node": n.id,
        onclick: onSelect ? () => onSelect(n.id) : null,
        onkeydown: onSelect ? (ev) => (ev.key === "Enter" || ev.key === " ") && onSelect(n.id) : null,
      },
      svg("rect", { width: NODE_W, height: NODE_H, rx: 10 }),
      svg("text", { x: 12, y: 20, class: "title" }, n.title.slice(0, 24)),
      svg("text", { x: 12, y: 38, class: "type" }, `${n.type}${status !== "idle" ? " · " + status : ""}`),
    );
    return group;
  });
  return svg(
    "svg",
    {
      class: "graph",
      viewBox: `${minX} ${minY} ${maxX - minX} ${maxY - minY}`,
      role: "group",
      "aria-label": "Workflow graph",
      preserveAspectRatio: "xMinYMin meet",
    },
    svg(
      "defs",
      {},
      svg(
        "marker",
        { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }),
      ),
    ),
    ...edges,
    ...boxes,
  );
}

// rows: [{title, started_at, finished_at, status}] (seconds); onSelect(index) on click/Enter.
export function drawGantt(rows, onSelect) {
  if (!rows.length) return null;
  const start = Math.min(...rows.map((r) => r.started_at));
  const end = Math.max(...rows.map((r) => r.finished_at || r.started_at));
  const span = Math.max(end - start, 0.001);
  const labelW = 180;
  const width = 760;
  const rowH = 26;
  const chartW = width - labelW - 70;
  const height = rows.length * rowH + 24;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    svg(
      "g",
      {},
      svg("line", { x1: labelW + f * chartW, x2: labelW + f * chartW, y1: 0, y2: height - 18, class: "tick" }),
      svg("text", { x: labelW + f * chartW, y: height - 4, class: "tick-label" }, span < 1 ? `${(f * span * 1000).toFixed(1)} ms` : `${(f * span).toFixed(2)} s`),
    ),
  );
  const bars = rows.map((r, i) => {
    const x = labelW + ((r.started_at - start) / span) * chartW;
    const w = Math.max((((r.finished_at || end) - r.started_at) / span) * chartW, 2);
    const y = i * rowH + 4;
    const took = (r.finished_at || end) - r.started_at;
    const secs = took < 1 ? `${(took * 1000).toFixed(1)} ms` : `${took.toFixed(3)} s`;
    return svg(
      "g",
      {
        class: `bar status-${r.status}`,
        tabindex: 0,
        role: "button",
        "aria-label": `${r.title}: ${r.status}, ${secs}`,
        onclick: () => onSelect(i),
        onkeydown: (ev) => (ev.key === "Enter" || ev.key === " ") && onSelect(i),
      },
      svg("text", { x: 4, y: y + 14, class: "bar-label" }, r.title.slice(0, 22)),
      svg("rect", { x, y, width: w, height: rowH - 8, rx: 4 }),
      svg("text", { x: x + w + 4, y: y + 14, class: "bar-time" }, secs),
    );
  });
  return svg(
    "svg",
    { class: "gantt", viewBox: `0 0 ${width} ${height}`, role: "group", "aria-label": "Timeline of node executions" },
    ...ticks,
    ...bars,
  );
}

// A bar chart of one figure per run, oldest left: points [{label, value}], `unit` after each value.
export function drawBars(points, title, unit) {
  if (!points.length) return null;
  const width = 520;
  const height = 140;
  const top = Math.max(...points.map((p) => p.value), 1e-9);
  const step = (width - 40) / points.length;
  const bars = points.map((p, i) => {
    const h = Math.max((p.value / top) * (height - 30), 1);
    return svg(
      "rect",
      { x: 36 + i * step, y: height - 18 - h, width: Math.max(step - 2, 1), height: h, class: "chart-bar" },
      svg("title", {}, `${p.label}: ${p.value}${unit}`),
    );
  });
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}: ${points.length} runs, at most ${top}${unit}` },
    svg("text", { x: 0, y: 12, class: "chart-title" }, `${title} (max ${Number(top.toFixed(3))}${unit})`),
    svg("line", { x1: 34, x2: width, y1: height - 18, y2: height - 18, class: "tick" }),
    ...bars,
  );
}
