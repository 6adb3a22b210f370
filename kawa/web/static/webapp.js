// The WebApp of one app: chat (chatflow, chatbot, agent), completion, or workflow, per the site settings.
import { announce, boot, h, pretty, request, stream } from "./dom.js";
import { words } from "./i18n.js";

const t = words(boot.lang);
const site = boot.site;
const params = boot.parameters;
const base = `/web-api/${boot.code}`;
const marker = { "X-Kawa-Web": "1" };
const call = (method, path, options = {}) => request(method, base + path, { ...options, headers: marker });
const root = document.getElementById("root");

// ---- the input form (user_input_form: text-input, paragraph, select, number, checkbox, file, file-list, json) ----

function fileType(mime) {
  const top = (mime || "").split("/")[0];
  return top === "image" ? "image" : top === "audio" ? "audio" : top === "video" ? "video" : "document";
}

async function uploadFile(file) {
  const form = new FormData();
  form.append("file", file);
  const done = await call("POST", "/files/upload", { form });
  return { type: fileType(done.mime_type), transfer_method: "local_file", upload_file_id: done.id, name: done.name };
}

function inputForm(prefix) {
  const fields = [];
  const elements = params.user_input_form.map((item) => {
    const [kind, spec] = Object.entries(item)[0];
    const id = `${prefix}-${spec.variable}`;
    const label = h("label", { for: id }, spec.label || spec.variable, spec.required ? h("span", { class: "req", title: t.required }, " *") : "");
    let control;
    let read;
    if (kind === "paragraph" || kind === "json_object") {
      control = h("textarea", { id, rows: 3, required: spec.required, maxlength: spec.max_length || null });
      control.value = spec.default || "";
      read = () => (kind === "json_object" && control.value ? JSON.parse(control.value) : control.value);
    } else if (kind === "select") {
      control = h("select", { id, required: spec.required }, h("option", { value: "" }, "—"), (spec.options || []).map((o) => h("option", { value: o, selected: o === spec.default }, o)));
      read = () => control.value;
    } else if (kind === "number") {
      control = h("input", { id, type: "number", required: spec.required, value: spec.default ?? "" });
      read = () => (control.value === "" ? undefined : Number(control.value));
    } else if (kind === "checkbox") {
      control = h("input", { id, type: "checkbox", checked: !!spec.default });
      read = () => control.checked;
    } else if (kind === "file" || kind === "file-list") {
      control = h("input", { id, type: "file", multiple: kind === "file-list", required: spec.required });
      read = async () => {
        const files = await Promise.all([...control.files].map(uploadFile));
        return kind === "file" ? files[0] : files;
      };
    } else {
      control = h("input", { id, type: "text", required: spec.required, maxlength: spec.max_length || null });
      control.value = spec.default || "";
      read = () => control.value;
    }
    fields.push({ name: spec.variable, read, kind });
    return h("div", { class: "field" }, label, control);
  });
  async function values() {
    const out = {};
    for (const field of fields) {
      const value = await field.read();
      if (value !== undefined && !(field.kind === "file-list" && !value.length) && value !== "") out[field.name] = value;
    }
    return out;
  }
  return { elements, values, empty: !fields.length };
}

function header() {
  const icon = site.icon_type === "image" && site.icon_url ? h("img", { src: site.icon_url, alt: "" }) : site.icon || "🤖";
  return h(
    "header",
    { class: "site-header" },
    h("span", { class: "app-icon", "aria-hidden": "true" }, icon),
    h("div", {}, h("h1", {}, site.title), site.description ? h("p", { class: "muted" }, site.description) : ""),
  );
}

function footer() {
  const parts = [];
  if (site.copyright) parts.push(h("span", {}, `© ${site.copyright}`));
  if (site.privacy_policy) parts.push(h("a", { href: site.privacy_policy, target: "_blank", rel: "noopener" }, t.privacy));
  if (site.custom_disclaimer) parts.push(h("span", { class: "disclaimer" }, site.custom_disclaimer));
  return parts.length ? h("footer", { class: "site-footer" }, ...parts) : "";
}

// ---- chat ------------------------------------------------------------------------------------------------------

const pins = new Set(JSON.parse(localStorage.getItem(`kawa-pins-${boot.code}`) || "[]"));
const savePins = () => localStorage.setItem(`kawa-pins-${boot.code}`, JSON.stringify([...pins]));

function chatPage() {
  let conversationId = null;
  let taskId = null;
  let controller = null;
  const form = inputForm("input");
  const inputsBox = form.empty ? "" : h("details", { class: "card inputs", open: true }, h("summary", {}, t.inputs), ...form.elements);
  const list = h("ul", { class: "conversations", "aria-label": t.conversations });
  const log = h("div", { class: "messages", role: "log", "aria-live": "polite", "aria-label": site.title });
  const text = h("textarea", { id: "query", rows: 2, placeholder: `${t.message}…`, "aria-label": t.message });
  const sendButton = h("button", { type: "submit", class: "primary" }, t.send);
  const stopButton = h("button", { type: "button", class: "danger", hidden: true, onclick: stop }, t.stop);
  const attach = h("input", { type: "file", id: "attach", multiple: true, class: "visually-hidden" });
  const uploadEnabled = (params.file_upload?.enabled || params.file_upload?.image?.enabled) ?? false;
  const attached = h("span", { class: "muted" });
  attach.addEventListener("change", () => (attached.textContent = [...attach.files].map((f) => f.name).join(", ")));
  const voice = params.speech_to_text?.enabled ? voiceButton(text) : "";
  const composer = h(
    "form",
    { class: "composer", onsubmit: (ev) => (ev.preventDefault(), send(text.value)) },
    uploadEnabled ? [attach, h("label", { for: "attach", class: "button", title: t.attach, "aria-label": t.attach }, "📎"), attached] : "",
    text,
    voice,
    sendButton,
    stopButton,
  );
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      send(text.value);
    }
  });

  function answerIcon() {
    return site.use_icon_as_answer_icon ? h("span", { class: "answer-icon", "aria-hidden": "true" }, site.icon || "🤖") : "";
  }

  function opening() {
    const items = [];
    if (params.opening_statement) items.push(h("div", { class: "bubble answer" }, answerIcon(), h("div", { class: "md" }, params.opening_statement)));
    if (params.suggested_questions?.length)
      items.push(h("div", { class: "suggestions" }, params.suggested_questions.map((q) => h("button", { type: "button", onclick: () => send(q) }, q))));
    log.replaceChildren(...items);
  }

  function messageActions(messageId, rating) {
    const like = h("button", { type: "button", class: "icon", "aria-pressed": rating === "like" ? "true" : "false", title: t.like, "aria-label": t.like }, "👍");
    const dislike = h("button", { type: "button", class: "icon", "aria-pressed": rating === "dislike" ? "true" : "false", title: t.dislike, "aria-label": t.dislike }, "👎");
    async function rate(value, button, other) {
      const next = button.getAttribute("aria-pressed") === "true" ? null : value;
      await call("POST", `/messages/${messageId}/feedbacks`, { body: { rating: next } });
      button.setAttribute("aria-pressed", next ? "true" : "false");
      other.setAttribute("aria-pressed", "false");
    }
    like.addEventListener("click", () => rate("like", like, dislike));
    dislike.addEventListener("click", () => rate("dislike", dislike, like));
    const speak = params.text_to_speech?.enabled
      ? h("button", { type: "button", class: "icon", title: t.readAloud, "aria-label": t.readAloud, onclick: () => readAloud(messageId) }, "🔊")
      : "";
    return h("div", { class: "actions" }, like, dislike, speak);
  }

  function bubbles(query, html, messageId, rating, thoughts, sources) {
    const answer = h("div", { class: "md", html: html || "" });
    const box = h("div", { class: "bubble answer", "data-message": messageId || "" }, answerIcon(), thoughtsBox(thoughts), answer, sourcesBox(sources), messageId ? messageActions(messageId, rating) : "");
    log.append(h("div", { class: "bubble question" }, query), box);
    return { box, answer };
  }

  async function loadConversations() {
    const { data } = await call("GET", "/conversations");
    const sorted = [...data.filter((c) => pins.has(c.id)), ...data.filter((c) => !pins.has(c.id))];
    list.replaceChildren(
      ...sorted.map((c) =>
        h(
          "li",
          { class: c.id === conversationId ? "current" : "" },
          h("button", { type: "button", class: "link conv", onclick: () => openConversation(c.id), "aria-current": c.id === conversationId ? "true" : null }, pins.has(c.id) ? `📌 ${c.name || "…"}` : c.name || "…"),
          h(
            "details",
            { class: "menu" },
            h("summary", { "aria-label": `${t.menu}: ${c.name}` }, "⋯"),
            h("button", { type: "button", onclick: () => togglePin(c.id) }, pins.has(c.id) ? t.unpin : t.pin),
            h("button", { type: "button", onclick: () => rename(c) }, t.rename),
            h("button", { type: "button", class: "danger", onclick: () => remove(c) }, t.delete),
          ),
        ),
      ),
    );
  }
  function togglePin(id) {
    pins.has(id) ? pins.delete(id) : pins.add(id);
    savePins();
    loadConversations();
  }
  async function rename(c) {
    const name = prompt(t.renamePrompt, c.name);
    if (!name || !name.trim()) return;
    await call("POST", `/conversations/${c.id}/name`, { body: { name } });
    loadConversations();
  }
  async function remove(c) {
    if (!confirm(t.deleteConfirm)) return;
    await call("DELETE", `/conversations/${c.id}`);
    pins.delete(c.id);
    savePins();
    if (c.id === conversationId) newChat();
    loadConversations();
  }
  async function openConversation(id) {
    conversationId = id;
    const { data } = await call("GET", `/conversations/${id}/messages`);
    log.replaceChildren();
    for (const m of data) bubbles(m.query, m.html, m.id, m.rating, m.agent_thoughts, m.retriever_resources);
    if (inputsBox) inputsBox.open = false;
    loadConversations();
    text.focus();
  }
  function newChat() {
    conversationId = null;
    if (inputsBox) inputsBox.open = true;
    opening();
    loadConversations();
    text.focus();
  }

  async function send(query) {
    if (!query.trim() || controller) return;
    let inputs;
    let files = [];
    try {
      inputs = await form.values();
      if (attach.files?.length) files = await Promise.all([...attach.files].map(uploadFile));
    } catch (err) {
      log.append(h("p", { class: "error", role: "alert" }, err.message));
      return;
    }
    text.value = "";
    attach.value = "";
    attached.textContent = "";
    log.querySelector(".suggestions.after")?.remove();
    const { box, answer } = bubbles(query, "", null, null, [], []);
    answer.classList.add("streaming");
    let raw = "";
    let messageId = null;
    const thoughts = [];
    controller = new AbortController();
    sendButton.hidden = true;
    stopButton.hidden = false;
    try {
      await stream(
        `${base}/chat-messages`,
        { query, inputs, conversation_id: conversationId, files },
        marker,
        (ev) => {
          if (ev.task_id) taskId = ev.task_id;
          if (ev.conversation_id) conversationId = ev.conversation_id;
          if (ev.message_id) messageId = ev.message_id;
          if (ev.event === "message" || ev.event === "agent_message") {
            raw += ev.answer || "";
            answer.textContent = raw;
          } else if (ev.event === "message_replace") {
            raw = ev.answer || "";
            answer.textContent = raw;
          } else if (ev.event === "agent_thought") {
            thoughts.push(ev);
          } else if (ev.event === "message_end") {
            const sources = ev.metadata?.retriever_resources || [];
            box.querySelector(".thoughts")?.remove();
            if (thoughts.length) box.insertBefore(thoughtsBox(thoughts), answer);
            if (sources.length) answer.after(sourcesBox(sources));
          } else if (ev.event === "kawa_rendered") {
            answer.innerHTML = ev.html;
          } else if (ev.event === "error") {
            box.append(h("p", { class: "error", role: "alert" }, ev.message || t.error));
          }
        },
        controller.signal,
      );
    } catch (err) {
      if (err.name !== "AbortError") box.append(h("p", { class: "error", role: "alert" }, err.message));
    } finally {
      answer.classList.remove("streaming");
      controller = null;
      sendButton.hidden = false;
      stopButton.hidden = true;
    }
    if (messageId) {
      box.dataset.message = messageId;
      box.append(messageActions(messageId, null));
      announce(raw.slice(0, 200));
      if (params.suggested_questions_after_answer?.enabled) {
        call("GET", `/messages/${messageId}/suggested`)
          .then(({ data }) => data.length && log.append(h("div", { class: "suggestions after" }, data.map((q) => h("button", { type: "button", onclick: () => send(q) }, q)))))
          .catch(() => {});
      }
    }
    if (inputsBox) inputsBox.open = false;
    loadConversations();
  }

  async function stop() {
    if (taskId) await call("POST", `/tasks/${taskId}/stop`).catch(() => {});
    setTimeout(() => controller && controller.abort(), 1500);
  }

  const sidebar = h(
    "aside",
    { class: "sidebar", "aria-label": t.conversations },
    h("button", { type: "button", class: "primary", onclick: newChat }, `+ ${t.newChat}`),
    h("h2", { class: "visually-hidden" }, t.conversations),
    list,
  );
  root.replaceChildren(
    h("div", { class: "chat-layout" }, sidebar, h("main", { id: "main", class: "chat" }, header(), inputsBox, log, composer, footer())),
  );
  opening();
  loadConversations();
}

function thoughtsBox(thoughts) {
  const real = (thoughts || []).filter((th) => th.thought || th.tool);
  if (!real.length) return "";
  return h(
    "details",
    { class: "thoughts" },
    h("summary", {}, `${t.thinking} (${real.length})`),
    real.map((th) => h("div", {}, th.tool ? h("strong", {}, `🛠 ${th.tool} `) : "", h("pre", {}, [th.thought, th.tool_input, th.observation].filter(Boolean).join("\n")))),
  );
}

function sourcesBox(sources) {
  if (!sources || !sources.length) return "";
  return h(
    "details",
    { class: "sources" },
    h("summary", {}, `${t.sources} (${sources.length})`),
    h("ol", {}, sources.map((s) => h("li", {}, h("strong", {}, s.document_name || s.dataset_name || ""), " ", h("span", { class: "muted" }, (s.content || "").slice(0, 240))))),
  );
}

async function readAloud(messageId) {
  const response = await fetch(`${base}/text-to-audio`, {
    method: "POST",
    headers: { ...marker, "Content-Type": "application/json" },
    body: JSON.stringify({ message_id: messageId }),
  });
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  new Audio(url).play();
}

function voiceButton(target) {
  let recorder = null;
  const button = h("button", { type: "button", class: "icon", title: t.voice, "aria-label": t.voice, "aria-pressed": "false" }, "🎤");
  button.addEventListener("click", async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    const media = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    recorder = new MediaRecorder(media);
    recorder.ondataavailable = (ev) => chunks.push(ev.data);
    recorder.onstop = async () => {
      media.getTracks().forEach((track) => track.stop());
      recorder = null;
      button.setAttribute("aria-pressed", "false");
      const form = new FormData();
      form.append("file", new Blob(chunks, { type: "audio/webm" }), "voice.webm");
      const { text } = await call("POST", "/audio-to-text", { form });
      target.value = (target.value ? target.value + " " : "") + text;
      target.focus();
    };
    recorder.start();
    button.setAttribute("aria-pressed", "true");
  });
  return button;
}

// ---- workflow and completion ---------------------------------------------------------------------------------------

function outputView(outputs) {
  return Object.entries(outputs || {}).map(([name, value]) => {
    const files = Array.isArray(value) ? value.filter((v) => v && v.url) : value && value.url ? [value] : [];
    const body = files.length
      ? h("ul", {}, files.map((f) => h("li", {}, h("a", { href: f.url, target: "_blank", rel: "noopener" }, f.filename || f.url))))
      : typeof value === "string"
        ? h("div", { class: "output-text" }, value)
        : h("pre", {}, pretty(value));
    return h("section", { class: "output", "data-output": name }, h("h3", {}, name), body);
  });
}

function workflowPage() {
  const form = inputForm("wf");
  const steps = h("ol", { class: "steps", "aria-label": t.steps });
  const outputs = h("div", { class: "outputs", "aria-live": "polite" });
  const status = h("p", { class: "run-status", role: "status" });
  const runButton = h("button", { type: "submit", class: "primary" }, boot.mode === "completion" ? t.generate : t.run);
  const stopButton = h("button", { type: "button", class: "danger", hidden: true }, t.stop);
  let taskId = null;
  let controller = null;
  stopButton.addEventListener("click", async () => {
    if (taskId) await call("POST", `/tasks/${taskId}/stop`).catch(() => {});
  });
  let runId = null;
  let lastEventId = null;
  const forms = h("div", { class: "forms", "aria-live": "polite" });
  const rows = {};
  let text = "";
  const live = h("div", { class: "output-text md" });
  async function run(ev) {
    ev.preventDefault();
    if (controller) return;
    steps.replaceChildren();
    outputs.replaceChildren();
    forms.replaceChildren();
    status.textContent = t.running;
    for (const key of Object.keys(rows)) delete rows[key];
    text = "";
    let inputs;
    try {
      inputs = await form.values();
    } catch (err) {
      status.textContent = err.message;
      return;
    }
    const url = boot.mode === "completion" ? `${base}/chat-messages` : `${base}/workflows/run`;
    await follow(url, { inputs });
  }
  // A paused run's form (Human Input): its content, its fields, one button per action; submitting resumes the run.
  function humanForm(d) {
    const fields = (d.inputs || []).map((input) => {
      const name = input.output_variable_name;
      const id = `hi-${d.form_id}-${name}`;
      const value = (d.resolved_default_values || {})[name] ?? "";
      const options = input.option_source?.value || input.options || [];
      const control =
        input.type === "select"
          ? h("select", { id }, options.map((o) => h("option", { value: o, selected: o === value }, o)))
          : input.type === "paragraph"
            ? h("textarea", { id, rows: 3 })
            : h("input", { id, type: "text" });
      if (input.type !== "select") control.value = value;
      return { name, control, box: h("div", { class: "field" }, h("label", { for: id }, name), control) };
    });
    const card = h(
      "form",
      { class: "card human-form", "aria-label": d.node_title, onsubmit: (ev) => ev.preventDefault() },
      h("h3", {}, d.node_title),
      h("div", { class: "output-text" }, d.form_content),
      fields.map((f) => f.box),
      h(
        "div",
        { class: "toolbar" },
        (d.actions || []).map((a) =>
          h("button", { type: "button", class: a.button_style === "primary" ? "primary" : "", onclick: () => submitForm(a.id) }, a.title),
        ),
      ),
    );
    async function submitForm(action) {
      const values = Object.fromEntries(fields.map((f) => [f.name, f.control.value]));
      card.remove();
      status.textContent = t.running;
      await follow(`${base}/forms/${d.form_token}`, { inputs: values, action, workflow_run_id: runId, last_event_id: lastEventId });
    }
    forms.append(card);
    announce(d.node_title);
  }
  async function follow(url, body) {
    controller = new AbortController();
    runButton.disabled = true;
    stopButton.hidden = false;
    try {
      await stream(
        url,
        body,
        marker,
        (ev) => {
          if (ev.task_id) taskId = ev.task_id;
          if (ev.workflow_run_id) runId = ev.workflow_run_id;
          if (ev.kawa_event_id !== undefined) lastEventId = ev.kawa_event_id;
          const d = ev.data || {};
          if (ev.event === "human_input_required") humanForm(d);
          if (ev.event === "workflow_paused") status.textContent = "⏸ paused";
          if (ev.event === "node_started" && site.show_workflow_steps && !d.iteration_id && !d.loop_id) {
            rows[d.id]?.remove(); // a node resumed after a form runs again under its id
            rows[d.id] = h("li", { class: "step status-running", "data-node": d.node_id }, h("span", { class: "dot", "aria-hidden": "true" }), `${d.title}`, h("span", { class: "muted" }, ` · ${t.running}`));
            steps.append(rows[d.id]);
          } else if (ev.event === "node_finished" && rows[d.id]) {
            rows[d.id].className = `step status-${d.status}`;
            rows[d.id].lastChild.textContent = ` · ${d.status} · ${(d.elapsed_time || 0).toFixed(2)} s`;
            if (d.error) rows[d.id].append(h("pre", { class: "error" }, d.error));
          } else if (ev.event === "text_chunk" || ev.event === "message") {
            text += d.text ?? ev.answer ?? "";
            if (!live.isConnected) outputs.replaceChildren(live);
            live.textContent = text;
          } else if (ev.event === "kawa_rendered") {
            live.innerHTML = ev.html;
          } else if (ev.event === "workflow_finished") {
            status.textContent = d.status === "succeeded" ? `✓ ${d.status} · ${(d.elapsed_time || 0).toFixed(2)} s` : `${d.status}${d.error ? ": " + d.error : ""}`;
            status.dataset.status = d.status;
            outputs.replaceChildren(...outputView(d.outputs));
          } else if (ev.event === "message_end") {
            status.textContent = "✓";
            status.dataset.status = "succeeded";
          } else if (ev.event === "error") {
            status.textContent = `${t.error}: ${ev.message}`;
            status.dataset.status = "failed";
          }
        },
        controller.signal,
      );
    } catch (err) {
      status.textContent = `${t.error}: ${err.message}`;
    } finally {
      controller = null;
      runButton.disabled = false;
      stopButton.hidden = true;
    }
  }
  const batch = boot.mode === "workflow" ? batchRunner() : "";
  root.replaceChildren(
    h(
      "main",
      { id: "main", class: "workflow" },
      header(),
      h("form", { class: "card run-form", onsubmit: run }, ...form.elements, h("div", { class: "toolbar" }, runButton, stopButton)),
      status,
      forms,
      site.show_workflow_steps ? h("section", { class: "card" }, h("h2", {}, t.steps), steps) : "",
      h("section", { class: "card" }, h("h2", {}, t.outputs), outputs),
      batch,
      footer(),
    ),
  );
}

// Run Batch: one run per CSV row (header row = variable names), a progress bar, results as a CSV download.
function parseCsv(textValue) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < textValue.length; i++) {
    const c = textValue[i];
    if (quoted) {
      if (c === '"' && textValue[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(cell), (cell = "");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && textValue[i + 1] === "\n") i++;
      row.push(cell);
      if (row.some((v) => v !== "")) rows.push(row);
      (row = []), (cell = "");
    } else cell += c;
  }
  row.push(cell);
  if (row.some((v) => v !== "")) rows.push(row);
  return rows;
}

const csvCell = (v) => `"${String(v ?? "").replaceAll('"', '""')}"`;

function batchRunner() {
  const input = h("input", { type: "file", id: "batch-csv", accept: ".csv,text/csv" });
  const progress = h("progress", { max: 1, value: 0, "aria-label": t.progress });
  const result = h("div", { "aria-live": "polite" });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    const [head, ...rows] = parseCsv(await file.text());
    progress.max = rows.length || 1;
    progress.value = 0;
    const lines = [[...head, "status", "outputs"].map(csvCell).join(",")];
    for (const row of rows) {
      const inputs = Object.fromEntries(head.map((name, i) => [name, row[i] ?? ""]));
      let finished = { status: "failed", outputs: null };
      await stream(`${base}/workflows/run`, { inputs }, marker, (ev) => {
        if (ev.event === "workflow_finished") finished = ev.data;
      }).catch(() => {});
      lines.push([...row, finished.status, JSON.stringify(finished.outputs)].map(csvCell).join(","));
      progress.value += 1;
    }
    const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/csv" }));
    result.replaceChildren(h("p", {}, `${t.batchDone}: ${rows.length}`), h("a", { href: url, download: "results.csv", class: "button" }, t.download));
  });
  return h("section", { class: "card" }, h("h2", {}, h("label", { for: "batch-csv" }, t.runBatch)), input, progress, result);
}

if (boot.mode === "workflow" || boot.mode === "completion") workflowPage();
else chatPage();
