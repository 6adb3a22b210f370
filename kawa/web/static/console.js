// The console: log in, apps (import by upload or drag and drop, export, delete), API keys, WebApp on/off, run logs
// with the graph coloured by node status and a Gantt timeline, knowledge (upload, indexing progress, chunks, testing).
import { announce, boot, formatTime, h, pretty, request } from "./dom.js";
import { drawBars, drawGantt, drawGraph } from "./graph.js";

const root = document.getElementById("root");
const csrf = { "X-CSRF-Token": boot.csrf || "" };
const api = (method, url, options = {}) => request(method, url, { ...options, headers: csrf });

function layout(title, ...content) {
  const nav = boot.page === "login"
    ? null
    : h(
        "nav",
        { class: "topnav", "aria-label": "Console" },
        h("a", { href: "/console", class: "brand" }, "🌊 kawa"),
        h("a", { href: "/console" }, "Apps"),
        h("a", { href: "/console/datasets" }, "Knowledge"),
        h("span", { class: "spacer" }),
        h("span", { class: "muted" }, boot.email || ""),
        h("button", { type: "button", class: "link", onclick: logOut }, "Log out"),
      );
  root.replaceChildren(nav || "", h("main", { id: "main", class: "console" }, h("h1", {}, title), ...content));
}

function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, err.message || String(err));
}

async function logOut() {
  await api("POST", "/console/api/logout");
  location.href = "/console/login";
}

function loginPage() {
  const message = h("p", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card narrow", onsubmit: submit },
    h("label", { for: "email" }, "Email"),
    h("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true }),
    h("label", { for: "password" }, "Password"),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    message,
    h("button", { type: "submit", class: "primary" }, "Log in"),
  );
  async function submit(ev) {
    ev.preventDefault();
    try {
      await request("POST", "/console/api/login", {
        body: { email: form.email.value, password: form.password.value },
      });
      location.href = boot.next || "/console";
    } catch (err) {
      message.hidden = false;
      message.textContent = err.message;
    }
  }
  layout("Log in to kawa", form);
  form.email.focus();
}

const MODE_NAMES = {
  workflow: "Workflow",
  "advanced-chat": "Chatflow",
  chat: "Chatbot",
  "agent-chat": "Agent",
  completion: "Text generator",
};

function importer(onDone, appId = null) {
  const result = h("div", { class: "import-result", "aria-live": "polite" });
  const input = h("input", { id: "dsl-file", type: "file", accept: ".yml,.yaml,text/yaml", class: "visually-hidden" });
  const zone = h(
    "label",
    { for: "dsl-file", class: "dropzone", tabindex: 0 },
    appId ? "Publish a new version: drop a DSL file here or choose one" : "Import an app: drop a Dify DSL file (.yml) here or choose one",
  );
  async function send(file) {
    const form = new FormData();
    form.append("file", file);
    if (appId) form.append("app_id", appId);
    result.replaceChildren(h("p", {}, `Importing ${file.name}…`));
    try {
      const done = await api("POST", "/console/api/apps/import", { form });
      const items = [
        h("p", { class: "ok" }, `Imported “${done.name}” (${MODE_NAMES[done.mode] || done.mode}), version ${done.version}.`),
      ];
      if (done.api_key)
        items.push(h("p", {}, "API key (shown once): ", h("code", { class: "secret", "data-testid": "new-key" }, done.api_key)));
      if (done.warnings.length)
        items.push(h("div", { class: "warnings" }, h("strong", {}, "Warnings"), h("ul", {}, done.warnings.map((w) => h("li", {}, w)))));
      items.push(h("a", { href: `/console/apps/${done.app_id}` }, "Open the app →"));
      result.replaceChildren(...items);
      announce(`Imported ${done.name}`);
      onDone && onDone(done);
    } catch (err) {
      result.replaceChildren(errorBox(err));
    }
  }
  input.addEventListener("change", () => input.files[0] && send(input.files[0]));
  zone.addEventListener("keydown", (ev) => (ev.key === "Enter" || ev.key === " ") && (ev.preventDefault(), input.click()));
  zone.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    if (ev.dataTransfer.files[0]) send(ev.dataTransfer.files[0]);
  });
  return h("section", { class: "card" }, input, zone, result);
}

async function appsPage() {
  const list = h("ul", { class: "app-grid", "aria-label": "Apps" });
  async function refresh() {
    const { data } = await api("GET", "/console/api/apps");
    list.replaceChildren(
      ...(data.length ? [] : [h("li", { class: "muted" }, "No apps yet: import one above.")]),
      ...data.map((app) =>
        h(
          "li",
          { class: "card app-card" },
          h("span", { class: "app-icon", style: null, "aria-hidden": "true" }, app.icon || "🤖"),
          h("div", {}, h("a", { href: `/console/apps/${app.id}`, class: "app-name" }, app.name), h("div", { class: "muted" }, MODE_NAMES[app.mode] || app.mode)),
          h("p", { class: "muted desc" }, app.description || ""),
          app.webapp_enabled ? h("a", { href: app.webapp_url, target: "_blank", rel: "noopener" }, "Open WebApp ↗") : h("span", { class: "muted" }, "WebApp off"),
        ),
      ),
    );
  }
  layout("Apps", importer(refresh), list);
  await refresh();
}

async function appPage() {
  const app = await api("GET", `/console/api/apps/${boot.app_id}`);
  const keyList = h("ul", { class: "keys", "aria-label": "API keys" });
  const newKey = h("div", { "aria-live": "polite" });
  function drawKeys(keys) {
    keyList.replaceChildren(
      ...keys.map((k) =>
        h(
          "li",
          {},
          h("code", {}, `app-…${k.hint}`),
          h("span", { class: "muted" }, ` created ${formatTime(k.created_at)}`),
          h("button", { type: "button", class: "danger small", onclick: () => revoke(k.id) }, "Revoke"),
        ),
      ),
    );
  }
  async function revoke(id) {
    if (!confirm("Revoke this key? Requests with it fail at once.")) return;
    await api("DELETE", `/console/api/apps/${app.id}/keys/${id}`);
    app.keys = app.keys.filter((k) => k.id !== id);
    drawKeys(app.keys);
    announce("Key revoked");
  }
  async function createKey() {
    const key = await api("POST", `/console/api/apps/${app.id}/keys`);
    newKey.replaceChildren(h("p", {}, "New key (shown once, copy it now): ", h("code", { class: "secret", "data-testid": "new-key" }, key.api_key)));
    app.keys.push(key);
    drawKeys(app.keys);
  }
  drawKeys(app.keys);
  const toggle = h("input", { type: "checkbox", id: "webapp-on", checked: app.webapp_enabled });
  toggle.addEventListener("change", async () => {
    await api("POST", `/console/api/apps/${app.id}/site`, { body: { enabled: toggle.checked } });
    announce(toggle.checked ? "WebApp on" : "WebApp off");
  });
  async function remove() {
    if (!confirm(`Delete “${app.name}” with its versions, keys, runs and files?`)) return;
    await api("DELETE", `/console/api/apps/${app.id}`);
    location.href = "/console";
  }
  const runs = h("tbody");
  const runsTable = h(
    "table",
    { class: "runs" },
    h("caption", {}, "Runs (newest first)"),
    h("thead", {}, h("tr", {}, ["Started", "Status", "Time", "Tokens", "Steps", "User"].map((t) => h("th", { scope: "col" }, t)))),
    runs,
  );
  const graph = drawGraph(app.graph);
  layout(
    `${app.icon || ""} ${app.name}`.trim(),
    h("p", { class: "muted" }, `${MODE_NAMES[app.mode] || app.mode} · version ${app.current_version} · ${app.description || ""}`),
    h(
      "div",
      { class: "toolbar" },
      h("a", { class: "button", href: app.webapp_url, target: "_blank", rel: "noopener" }, "Open WebApp ↗"),
      h("label", { class: "switch" }, toggle, " WebApp enabled"),
      h("a", { class: "button", href: `/console/api/apps/${app.id}/export`, download: "" }, "Export DSL"),
      h("button", { type: "button", class: "danger", onclick: remove }, "Delete app"),
    ),
    graph ? h("section", { class: "card" }, h("h2", {}, "Workflow"), graph) : "",
    h("section", { class: "card" }, h("h2", {}, "API keys"), keyList, h("button", { type: "button", onclick: createKey }, "Create key"), newKey),
    importer(() => location.reload(), app.id),
    app.mode === "workflow" || app.mode === "advanced-chat" ? h("section", { class: "card" }, runsTable) : "",
    app.mode === "workflow" ? "" : messageLog(app),
  );
  const statusFilter = h(
    "select",
    { id: "status-filter" },
    h("option", { value: "" }, "All runs"),
    ["succeeded", "failed", "stopped", "partial-succeeded", "running"].map((v) => h("option", { value: v }, v)),
  );
  runsTable.before(h("div", { class: "toolbar" }, h("label", { for: "status-filter" }, "Status"), statusFilter));
  let charted = false;
  let asked = 0;
  async function loadRuns() {
    const mine = ++asked;
    const { data } = await api("GET", `/console/api/apps/${app.id}/runs?status=${statusFilter.value}`);
    if (mine !== asked) return;
    runs.replaceChildren(
      ...data.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: `/console/apps/${app.id}/runs/${r.id}` }, formatTime(r.created_at))),
          h("td", {}, h("span", { class: `badge status-${r.status}` }, r.status)),
          h("td", {}, `${r.elapsed_time.toFixed(2)} s`),
          h("td", {}, r.total_tokens),
          h("td", {}, r.total_steps),
          h("td", { class: "muted" }, r.user || ""),
        ),
      ),
    );
    if (!data.length) runs.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No runs.")));
    if (charted || !data.length) return;
    charted = true; // the charts show every recent run, whatever the filter
    const recent = [...data].reverse();
    const label = (r) => formatTime(r.created_at);
    const latency = drawBars(recent.map((r) => ({ label: label(r), value: r.elapsed_time })), "Latency", " s");
    const tokens = drawBars(recent.map((r) => ({ label: label(r), value: r.total_tokens })), "Tokens", "");
    runsTable.parentNode.before(h("div", { class: "charts card" }, latency, tokens));
  }
  statusFilter.addEventListener("change", loadRuns);
  await loadRuns();
}

// Chat apps' log: each message with its conversation, user, tokens, latency and feedback; filter by feedback.
function messageLog(app) {
  const body = h("tbody");
  const filter = h(
    "select",
    { id: "rating-filter" },
    h("option", { value: "" }, "All messages"),
    h("option", { value: "like" }, "Liked"),
    h("option", { value: "dislike" }, "Disliked"),
  );
  let asked = 0;
  async function load() {
    const mine = ++asked; // a slower earlier answer must not overwrite a newer filter's rows
    const { data } = await api("GET", `/console/api/apps/${app.id}/messages?rating=${filter.value}`);
    if (mine !== asked) return;
    body.replaceChildren(
      ...data.map((m) =>
        h(
          "tr",
          {},
          h("td", {}, formatTime(m.created_at)),
          h("td", {}, m.conversation_name),
          h("td", {}, h("details", {}, h("summary", {}, m.query.slice(0, 80)), h("pre", {}, m.answer))),
          h("td", {}, h("span", { class: `badge status-${m.status === "normal" ? "succeeded" : m.status}` }, m.status)),
          h("td", {}, `${m.message_tokens + m.answer_tokens}`),
          h("td", {}, `${m.latency.toFixed(2)} s`),
          h("td", { "data-testid": "rating" }, m.rating === "like" ? "👍" : m.rating === "dislike" ? "👎" : ""),
          h("td", {}, m.workflow_run_id ? h("a", { href: `/console/apps/${app.id}/runs/${m.workflow_run_id}` }, "trace") : ""),
        ),
      ),
    );
    if (!data.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No messages.")));
  }
  filter.addEventListener("change", load);
  load();
  return h(
    "section",
    { class: "card" },
    h("div", { class: "toolbar" }, h("label", { for: "rating-filter" }, "Feedback"), filter),
    h(
      "table",
      { class: "messages-log" },
      h("caption", {}, "Messages (newest first)"),
      h("thead", {}, h("tr", {}, ["Time", "Conversation", "Question / answer", "Status", "Tokens", "Latency", "Feedback", "Run"].map((t) => h("th", { scope: "col" }, t)))),
      body,
    ),
  );
}

async function runPage() {
  const trace = await api("GET", `/console/api/apps/${boot.app_id}/runs/${boot.run_id}`);
  const statusOf = {};
  for (const node of trace.nodes) if (!node.in_container) statusOf[node.node_id] = node.status;
  const detail = h("section", { class: "card node-detail", "aria-live": "polite" }, h("p", { class: "muted" }, "Choose a node in the graph or the timeline."));
  function show(index) {
    const n = trace.nodes[index];
    if (!n) return;
    const price = Number(n.total_price) ? ` · ${n.total_price} ${n.currency}` : "";
    detail.replaceChildren(
      h("h2", {}, `${n.title} `, h("span", { class: `badge status-${n.status}` }, n.status)),
      h("p", { class: "muted" }, `${n.node_type} · ${n.elapsed_time.toFixed(3)} s · ${n.total_tokens} tokens${price}`),
      n.error ? h("pre", { class: "error" }, n.error) : "",
      h("h3", {}, "Inputs"),
      h("pre", {}, pretty(n.inputs)),
      n.process_data ? [h("h3", {}, "Process data"), h("pre", {}, pretty(n.process_data))] : "",
      h("h3", {}, "Outputs"),
      h("pre", {}, pretty(n.outputs)),
    );
  }
  const byNode = (id) => trace.nodes.findIndex((n) => n.node_id === id);
  const graph = drawGraph(trace.graph, statusOf, (id) => show(byNode(id)));
  const gantt = drawGantt(trace.nodes, show);
  const run = trace.run;
  layout(
    "Run trace",
    h("p", {}, h("a", { href: `/console/apps/${boot.app_id}` }, "← Back to the app")),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"), h("dd", {}, h("span", { class: `badge status-${run.status}`, "data-testid": "run-status" }, run.status)),
      h("dt", {}, "Time"), h("dd", {}, `${run.elapsed_time.toFixed(3)} s`),
      h("dt", {}, "Tokens"), h("dd", {}, run.total_tokens),
      h("dt", {}, "Steps"), h("dd", {}, run.total_steps),
      h("dt", {}, "Started"), h("dd", {}, formatTime(run.created_at)),
    ),
    run.error ? h("pre", { class: "error" }, run.error) : "",
    graph ? h("section", { class: "card" }, h("h2", {}, "Graph"), graph) : "",
    h("section", { class: "card" }, h("h2", {}, "Timeline"), gantt || h("p", { class: "muted" }, "No node ran.")),
    detail,
    h("section", { class: "card io" }, h("h2", {}, "Inputs"), h("pre", {}, pretty(run.inputs)), h("h2", {}, "Outputs"), h("pre", {}, pretty(run.outputs))),
  );
}

async function datasetsPage() {
  const list = h("ul", { class: "app-grid", "aria-label": "Datasets" });
  const name = h("input", { id: "dataset-name", required: true, maxlength: 40 });
  const message = h("div", { "aria-live": "polite" });
  async function refresh() {
    const { data } = await api("GET", "/console/api/datasets");
    list.replaceChildren(
      ...data.map((d) =>
        h("li", { class: "card" }, h("a", { href: `/console/datasets/${d.id}`, class: "app-name" }, d.name), h("p", { class: "muted" }, `${d.document_count} documents · ${d.word_count} words`)),
      ),
    );
  }
  async function create(ev) {
    ev.preventDefault();
    try {
      const d = await api("POST", "/console/api/datasets", { body: { name: name.value } });
      location.href = `/console/datasets/${d.id}`;
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  }
  layout(
    "Knowledge",
    h("form", { class: "card inline", onsubmit: create }, h("label", { for: "dataset-name" }, "New dataset"), name, h("button", { type: "submit", class: "primary" }, "Create"), message),
    list,
  );
  await refresh();
}

async function datasetPage() {
  const id = boot.dataset_id;
  const docs = h("tbody");
  const chunks = h("section", { class: "card", "aria-live": "polite" });
  const input = h("input", { id: "doc-file", type: "file", class: "visually-hidden" });
  const zone = h("label", { for: "doc-file", class: "dropzone", tabindex: 0 }, "Upload a document: drop it here or choose one (txt, md, pdf, docx, …)");
  const status = h("div", { "aria-live": "polite" });
  let timer = null;
  async function refresh() {
    const data = await api("GET", `/console/api/datasets/${id}`);
    docs.replaceChildren(
      ...data.documents.map((d) => {
        const total = d.total_segments ?? 0;
        const done = d.completed_segments ?? 0;
        const pct = d.indexing_status === "completed" ? 100 : total ? Math.round((100 * done) / total) : 0;
        return h(
          "tr",
          {},
          h("td", {}, h("button", { type: "button", class: "link", onclick: () => showChunks(d) }, d.name)),
          h("td", {}, h("span", { class: `badge status-${d.indexing_status}`, "data-testid": "indexing-status" }, d.indexing_status)),
          h("td", {}, h("progress", { max: 100, value: pct, "aria-label": `Indexing ${d.name}` }), ` ${pct}%`),
          h("td", {}, d.word_count),
        );
      }),
    );
    const busy = data.documents.some((d) => !["completed", "error", "paused"].includes(d.indexing_status));
    clearTimeout(timer);
    if (busy) timer = setTimeout(refresh, 700);
    return data;
  }
  async function showChunks(doc) {
    const { data, total } = await api("GET", `/console/api/datasets/${id}/documents/${doc.id}/segments`);
    chunks.replaceChildren(
      h("h2", {}, `Chunks of ${doc.name} (${total})`),
      h("ol", { class: "chunks" }, data.map((s) => h("li", {}, h("pre", {}, s.content), h("span", { class: "muted" }, `${s.word_count} words · ${s.tokens} tokens · ${s.hit_count} hits`)))),
    );
  }
  async function upload(file) {
    const form = new FormData();
    form.append("file", file);
    status.textContent = `Uploading ${file.name}…`;
    try {
      await api("POST", `/console/api/datasets/${id}/documents`, { form });
      status.textContent = `${file.name} queued for indexing.`;
      refresh();
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  }
  input.addEventListener("change", () => input.files[0] && upload(input.files[0]));
  zone.addEventListener("keydown", (ev) => (ev.key === "Enter" || ev.key === " ") && (ev.preventDefault(), input.click()));
  zone.addEventListener("dragover", (ev) => ev.preventDefault());
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer.files[0]) upload(ev.dataTransfer.files[0]);
  });
  const query = h("input", { id: "retrieve-query", required: true, maxlength: 250 });
  const hits = h("ol", { class: "hits", "aria-live": "polite" });
  async function retrieve(ev) {
    ev.preventDefault();
    try {
      const { records } = await api("POST", `/console/api/datasets/${id}/retrieve`, { body: { query: query.value } });
      hits.replaceChildren(...records.map((r) => h("li", {}, h("strong", {}, (r.score ?? 0).toFixed(3)), " ", h("span", {}, r.segment.content.slice(0, 300)))));
      if (!records.length) hits.replaceChildren(h("li", { class: "muted" }, "No match."));
    } catch (err) {
      hits.replaceChildren(errorBox(err));
    }
  }
  const data = await api("GET", `/console/api/datasets/${id}`);
  layout(
    data.dataset.name,
    h("p", {}, h("a", { href: "/console/datasets" }, "← Knowledge")),
    h("section", { class: "card" }, input, zone, status),
    h("section", { class: "card" }, h("table", {}, h("caption", {}, "Documents"), h("thead", {}, h("tr", {}, ["Name", "Status", "Progress", "Words"].map((t) => h("th", { scope: "col" }, t)))), docs)),
    chunks,
    h("form", { class: "card inline", onsubmit: retrieve }, h("label", { for: "retrieve-query" }, "Retrieval test"), query, h("button", { type: "submit" }, "Search"), hits),
  );
  await refresh();
}

const PAGES = { login: loginPage, apps: appsPage, app: appPage, run: runPage, datasets: datasetsPage, dataset: datasetPage };
Promise.resolve(PAGES[boot.page]()).catch((err) => {
  if (err.status === 401) location.href = "/console/login";
  else root.append(errorBox(err));
});
