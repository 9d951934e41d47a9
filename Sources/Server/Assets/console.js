"use strict";
const $ = (id) => document.getElementById(id);
const state = { operations: [], outputs: [], ops: [], output: {}, originals: new Map(), results: [] };

// --- The API key -------------------------------------------------------------

// Kept in this tab's sessionStorage (gone with the tab, never in the page's
// URL or the server's logs) and sent as `Authorization: Bearer` on every
// request the page makes.
const keyStore = "calotype.key";
const apiKey = () => sessionStorage.getItem(keyStore) ?? "";
function api(url, options = {}) {
  const headers = new Headers(options.headers ?? {});
  if (apiKey()) headers.set("Authorization", `Bearer ${apiKey()}`);
  return fetch(url, { ...options, headers });
}
// A result for an <img> or a link, which cannot send the key: with a key,
// its bytes fetched with it, as a blob: URL of this page.
async function resultSource(url) {
  if (!apiKey()) return url;
  const response = await api(url);
  return response.ok ? URL.createObjectURL(await response.blob()) : "";
}
$("api-key").value = apiKey();
$("api-key").addEventListener("change", () => {
  const key = $("api-key").value.trim();
  if (key) sessionStorage.setItem(keyStore, key); else sessionStorage.removeItem(keyStore);
  refreshEngine();
});

// --- The recipe builder, from /openapi.json's Recipe schema -----------------

async function loadSchema() {
  const document_ = await (await fetch("/openapi.json")).json();
  const recipe = document_.components.schemas.Recipe;
  state.operations = recipe.properties.ops.items.oneOf.map((schema, order) => ({
    name: schema.properties.op.const, summary: schema.description ?? "", order,
    parameters: Object.entries(schema.properties).filter(([key]) => key !== "op").map(([key, schema]) => ({ key, schema })),
  }));
  state.outputs = Object.entries(recipe.properties).filter(([key]) => key !== "ops").map(([key, schema]) => ({ key, schema }));
  // Offer only the formats this build writes (/health lists them; AVIF, say, needs an AV1 encoder).
  const writes = (await (await fetch("/health")).json()).writes ?? [];
  for (const output of state.outputs.filter((output) => output.key === "format" && Array.isArray(output.schema.enum))) {
    output.schema = { ...output.schema, enum: output.schema.enum.filter((format) => format === "original" || writes.includes(format)) };
  }
  $("add-op").replaceChildren(...state.operations.map((operation) => new Option(`${operation.name}: ${operation.summary}`, operation.name)));
  state.ops = [{ op: "resize", values: { width: "800" } }];
  state.output = { format: "webp" };
  render();
}

// One input for one parameter, with its range, choices and default.
function field(id, key, schema, value, onChange) {
  const label = document.createElement("label");
  label.append(key);
  let input;
  const choices = schema.enum ?? (schema.oneOf ?? []).flatMap((option) => option.enum ?? (option.const !== undefined ? [option.const] : []));
  if (choices.length) {
    input = document.createElement("select");
    input.append(new Option("", ""), ...choices.map((choice) => new Option(String(choice), String(choice))));
  } else if (schema.type === "boolean") {
    input = document.createElement("select");
    input.append(new Option("", ""), new Option("true", "true"), new Option("false", "false"));
  } else if (schema.type === "integer" || schema.type === "number") {
    input = document.createElement("input");
    input.type = "number";
    if (schema.minimum !== undefined) input.min = schema.minimum;
    if (schema.maximum !== undefined) input.max = schema.maximum;
    if (schema.exclusiveMinimum !== undefined) input.min = schema.exclusiveMinimum;
    input.step = schema.type === "integer" ? "1" : "any";
  } else {
    input = document.createElement("input");
    input.type = "text";
  }
  input.id = id;
  input.value = value ?? "";
  if (schema.default !== undefined && input.placeholder !== undefined) input.placeholder = String(schema.default);
  input.title = schema.description ?? "";
  input.addEventListener("input", () => { onChange(input.value); update(); });
  label.append(input);
  return label;
}

function render() {
  $("ops").replaceChildren(...state.ops.map((step, index) => {
    const operation = state.operations.find((candidate) => candidate.name === step.op);
    const item = document.createElement("li");
    const set = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = step.op;
    const summary = document.createElement("span");
    summary.className = "summary";
    summary.textContent = operation.summary;
    set.append(legend, summary);
    for (const { key, schema } of operation.parameters) {
      set.append(field(`op-${index}-${key}`, key, schema, step.values[key], (value) => { step.values[key] = value; }));
    }
    const moves = document.createElement("span");
    moves.className = "moves";
    const button = (text, label, action) => {
      const control = document.createElement("button");
      control.type = "button"; control.className = "small"; control.textContent = text;
      control.setAttribute("aria-label", `${label} ${step.op} (step ${index + 1})`);
      control.addEventListener("click", () => { action(); render(); });
      return control;
    };
    moves.append(
      button("↑", "Move up", () => index > 0 && state.ops.splice(index - 1, 0, ...state.ops.splice(index, 1))),
      button("↓", "Move down", () => index < state.ops.length - 1 && state.ops.splice(index + 1, 0, ...state.ops.splice(index, 1))),
      button("✕", "Remove", () => state.ops.splice(index, 1)));
    set.append(moves);
    item.append(set);
    return item;
  }));
  $("output").replaceChildren(...state.outputs.map(({ key, schema }) =>
    field(`out-${key}`, key, schema, state.output[key], (value) => { state.output[key] = value; })));
  update();
}

// A value as the schema types it ("" is unset).
function typed(schema, text) {
  if (text === "" || text === undefined) return undefined;
  if (schema.type === "integer" || schema.type === "number") return Number(text);
  if (schema.type === "boolean") return text === "true";
  const choices = (schema.oneOf ?? []).flatMap((option) => option.enum ?? []);
  if (choices.length && choices.every((choice) => typeof choice === "number")) return Number(text);
  return text;
}

function recipe() {
  const result = { ops: state.ops.map((step) => {
    const operation = state.operations.find((candidate) => candidate.name === step.op);
    const op = { op: step.op };
    for (const { key, schema } of operation.parameters) {
      const value = typed(schema, step.values[key]);
      if (value !== undefined) op[key] = value;
    }
    return op;
  }) };
  for (const { key, schema } of state.outputs) {
    const value = typed(schema, state.output[key]);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

// The shorthand: each operation once, in the vocabulary's order.
function shorthand(json) {
  const orders = json.ops.map((op) => state.operations.find((candidate) => candidate.name === op.op).order);
  if (orders.some((order, index) => index > 0 && order <= orders[index - 1])) {
    return { text: "", why: "not expressible as a query: the query applies each operation once, in the order " +
      state.operations.map((operation) => operation.name).join(", ") };
  }
  const query = new URLSearchParams();
  for (const op of json.ops) {
    const operation = state.operations.find((candidate) => candidate.name === op.op);
    const keys = Object.keys(op).filter((key) => key !== "op");
    for (const key of keys) {
      const schema = operation.parameters.find((parameter) => parameter.key === key).schema;
      query.set(schema["x-shorthand"] ?? key, String(op[key]));
    }
    if (!keys.length) query.set(op.op, "true");
  }
  for (const { key, schema } of state.outputs) if (json[key] !== undefined) query.set(schema["x-shorthand"] ?? key, String(json[key]));
  return { text: query.toString(), why: "" };
}

// The recipe as GET /img options (imgproxy's), signed by `calotype sign`:
// the signing key never reaches the browser. /img runs a resize, a
// quarter turn, a blur and a sharpen, in the query's order, after a
// centred crop.
function imageURL(json, query) {
  if (!query.text) return "not expressible as a GET URL: " + query.why;
  const fits = { inside: "fit", cover: "fill", fill: "force", auto: "auto" };
  const options = [];
  for (const op of json.ops) {
    if (op.op === "crop" && op.gravity === "centre") {
      options.push(`c:${op.width}:${op.height}`);
    } else if (op.op === "resize") {
      if (op.fit === "contain" || (op.gravity && op.gravity !== "centre" && op.gravity !== "attention") || op.background || op.fast_shrink !== undefined) {
        return "not expressible as a GET URL: /img resizes with fit inside, cover, fill or auto, and gravity centre or attention";
      }
      options.push(`rs:${fits[op.fit ?? "inside"]}:${op.width ?? 0}:${op.height ?? 0}${op.enlarge ? ":1" : ""}`);
      if (op.gravity === "attention") options.push("g:sm");
    } else if (op.op === "rotate" && [0, 90, 180, 270].includes(op.angle)) {
      options.push(`rot:${op.angle}`);
    } else if (op.op === "blur") {
      options.push(`bl:${op.sigma}`);
    } else if (op.op === "sharpen") {
      options.push(`sh:${op.sigma}`);
    } else {
      return `not expressible as a GET URL: /img does not run ${op.op}${op.op === "rotate" ? " by that angle" : ""}`;
    }
  }
  if (json.quality !== undefined) options.push(`q:${json.quality}`);
  if (json.strip !== undefined) options.push(`sm:${json.strip ? 1 : 0}`);
  const extension = json.format && json.format !== "original" ? ` --extension ${json.format}` : "";
  return `calotype sign https://images.example.com/photo.jpg --options '${options.join("/") || "-"}'${extension}`;
}

function update() {
  const json = recipe();
  $("recipe-json").textContent = JSON.stringify(json, null, 1);
  const query = shorthand(json);
  $("recipe-query").textContent = query.text || query.why;
  $("recipe-get").textContent = imageURL(json, query);
  const invalid = [...document.querySelectorAll("#form input, #form select")].filter((input) => !input.checkValidity());
  $("invalid").textContent = invalid.map((input) => `${input.id.replace(/^(op-\d+|out)-/, "")}: ${input.validationMessage}`).join("; ");
  $("go").disabled = invalid.length > 0 || state.running === true;
}

$("add").addEventListener("click", () => { state.ops.push({ op: $("add-op").value, values: {} }); render(); });
for (const [button, source] of [["copy-json", "recipe-json"], ["copy-query", "recipe-query"], ["copy-get", "recipe-get"]]) {
  $(button).addEventListener("click", () => navigator.clipboard?.writeText($(source).textContent));
}

// --- Images in -------------------------------------------------------------

const drop = $("drop");
let dropped = null;
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  dropped = [...e.dataTransfer.files];
  $("status").textContent = `${dropped.length} file(s) dropped`;
});

// --- Running a batch -------------------------------------------------------

// The event-stream reader of docs/STREAMING_GUIDE.md: survives events split across chunks.
async function readEventStream(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "", event = { event: "message", data: [] }, lastEventId = "";
  const dispatch = () => {
    if (event.data.length) onEvent({ event: event.event, data: event.data.join("\n"), lastEventId });
    event = { event: "message", data: [] };
  };
  for (;;) {
    const { value, done } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    const lines = buffer.split(/\r\n|\n|\r/);
    buffer = done ? "" : lines.pop();
    for (const line of lines) {
      if (line === "") { dispatch(); continue; }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "data") event.data.push(text); else if (field === "event") event.event = text; else if (field === "id") lastEventId = text;
    }
    if (done) { dispatch(); return; }
  }
}

const stored = "calotype.batch";

// Follows a posted batch from after `lastEventID` with EventSource (which
// reconnects by itself, sending Last-Event-ID); the last event seen is
// kept in the browser's storage, so a reload picks the batch up again.
// With an API key, which EventSource cannot send, the stream is read with
// fetch instead; a reload resumes it all the same.
function followBatch(batch, lastEventID, onEvent) {
  const url = `/batches/${batch.id}/events?last_event_id=${lastEventID}`;
  const seen = (name, data, id) => {
    onEvent({ event: name, data });
    localStorage.setItem(stored, JSON.stringify({ ...batch, lastEventID: Number(id) }));
    if (name === "complete") localStorage.removeItem(stored);
  };
  if (apiKey()) {
    return (async () => {
      const response = await api(url);
      if (response.status === 204) return;
      if (!response.ok) throw await refusal(response);
      let completed = false;
      await readEventStream(response, ({ event, data, lastEventId }) => { seen(event, data, lastEventId); completed ||= event === "complete"; });
      if (!completed) throw new Error("the event stream ended early; reload to resume");
    })();
  }
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    state.source = source;
    for (const name of ["progress", "result", "error", "complete"]) {
      source.addEventListener(name, (e) => {
        if (e.data === undefined) {
          if (source.readyState === EventSource.CLOSED) reject(new Error("the event stream was refused"));
          return;
        }
        seen(name, e.data, e.lastEventId);
        if (name === "complete") { source.close(); resolve(); }
      });
    }
  });
}

function card(item) {
  const div = document.createElement("div");
  div.className = "card" + (item.status === "ok" ? "" : " error");
  div.dataset.index = item.index;
  if (item.status === "ok") {
    div.innerHTML = `<button type="button" class="open"><img alt=""></button><div class="name"></div>` +
      `<div>${item.width}×${item.height} ${item.format}, ${(item.bytes / 1024).toFixed(1)} KiB</div>` +
      `<div>${item.backend}${item.fallback ? " (fallback)" : ""}, ${item.duration_ms.toFixed(0)} ms</div>`;
    resultSource(item.url).then((source) => { div.querySelector("img").src = source; });
    div.querySelector("img").alt = `The result for ${item.filename}`;
    div.querySelector("button").addEventListener("click", () => openComparison(item));
  } else {
    div.innerHTML = `<div class="name"></div><div class="code"></div>`;
    div.querySelector(".code").textContent = `${item.code}: ${item.message}`;
  }
  div.querySelector(".name").textContent = item.filename;
  return div;
}

function show({ event, data }) {
  const item = JSON.parse(data);
  if (event === "progress") { $("progress").max = item.total; $("progress").value = item.completed; }
  if (event === "result" || event === "error") {
    const shown = event === "error" ? { ...item, status: "error" } : item;
    // A resumed stream never repeats an event; this guards the grid anyway.
    if ($("results").querySelector(`.card[data-index="${item.index}"]`)) return;
    state.results.push(shown);
    $("results").append(card(shown));
    $("zip").hidden = !state.results.some((result) => result.status === "ok");
  }
  if (event === "complete") summarise(item);
}

function summarise(counts) {
  $("summary").textContent = `${counts.succeeded} done, ${counts.failed} failed` +
    (counts.cancelled ? `, ${counts.cancelled} cancelled` : "") + `, in ${((counts.duration_ms ?? 0) / 1000).toFixed(2)} s`;
}

function begin(total) {
  $("results").replaceChildren(); $("summary").textContent = ""; state.results = [];
  $("progress").max = total; $("progress").value = 0;
  $("status").textContent = "working…"; state.running = true; $("go").disabled = true; $("zip").hidden = true;
}

function end(error) {
  $("status").textContent = error ? error.message : "";
  state.running = false; $("cancel").hidden = true; dropped = null; state.source = undefined;
  update();
}

async function refusal(response) {
  const body = await response.json().catch(() => ({}));
  return new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`);
}

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const files = dropped ?? [...$("files").files];
  if (!files.length) { $("status").textContent = "choose some images first"; return; }
  const form = new FormData();
  form.append("recipe", JSON.stringify(recipe()));
  state.originals = new Map();
  files.forEach((file, index) => { form.append("files", file, file.name); state.originals.set(index, URL.createObjectURL(file)); });
  const query = new URLSearchParams({ backend: $("backend").value });
  begin(files.length);
  try {
    if ($("mode").value === "/batches") {
      const response = await api(`/batches?${query}`, { method: "POST", body: form });
      if (!response.ok) throw await refusal(response);
      const { batch_id: id, total } = await response.json();
      const batch = { id, total, lastEventID: 0 };
      localStorage.setItem(stored, JSON.stringify(batch));
      $("cancel").hidden = false;
      await followBatch(batch, 0, show);
    } else {
      const response = await api(`${$("mode").value}?${query}`, { method: "POST", body: form });
      if (!response.ok) throw await refusal(response);
      await readEventStream(response, show);
    }
    end();
  } catch (error) {
    end(error);
  }
});

$("cancel").addEventListener("click", async () => {
  const batch = JSON.parse(localStorage.getItem(stored) ?? "null");
  if (!batch) return;
  const response = await api(`/batches/${batch.id}`, { method: "DELETE" });
  if (!response.ok) $("status").textContent = (await refusal(response)).message;
});

// A batch left running by a reload (or a closed tab) is picked up again:
// what had arrived is read from its status, the rest from its stream,
// after the last event this page saw.
async function resume() {
  const batch = JSON.parse(localStorage.getItem(stored) ?? "null");
  if (!batch) return;
  begin(batch.total);
  $("status").textContent = "resuming…"; $("cancel").hidden = false;
  const showStatus = async () => {
    const response = await api(`/batches/${batch.id}`);
    if (!response.ok) return null;
    const status = await response.json();
    for (const item of status.results) {
      show({ event: item.status === "ok" ? "result" : "error", data: JSON.stringify(item.status === "ok" ? item : { ...item, ...item.error }) });
    }
    $("progress").value = status.completed;
    return status;
  };
  const status = await showStatus();
  if (!status || status.status !== "running") {
    // Over already (or forgotten): what it did is all there is.
    if (status) summarise(status);
    localStorage.removeItem(stored); end(); return;
  }
  try {
    await followBatch(batch, batch.lastEventID, show);
    end();
  } catch (error) {
    // Refused: it ended meanwhile. Its status has the end.
    const final = await showStatus();
    if (final) summarise(final);
    localStorage.removeItem(stored);
    end(final ? undefined : error);
  }
}

// --- Before and after ------------------------------------------------------

function openComparison(item) {
  const original = state.originals.get(item.index);
  const showResult = (result) => {
    if (!original) $("before").src = result;
    $("after").src = result;
    $("download-one").href = result;
  };
  if (original) $("before").src = original;
  $("before").alt = original ? `The original ${item.filename}` : "The original is not in this page (the batch was resumed)";
  // With a key, the result's bytes come fetched with it, once it is open.
  if (apiKey()) resultSource(item.url).then(showResult); else showResult(item.url);
  $("download-one").download = `${item.filename.replace(/\.[^.]*$/, "")}.${item.format}`;
  $("compare").showModal();
}
$("split").addEventListener("input", () => $("compare-view").style.setProperty("--split", `${$("split").value}%`));
$("zoom").addEventListener("change", () => $("compare-view").style.setProperty("--zoom", $("zoom").value));
$("close-compare").addEventListener("click", () => $("compare").close());

// --- All results as one zip, made in the browser (stored, not deflated) ----

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
function zip(files) {
  const parts = [], central = [];
  let offset = 0;
  for (const { name, bytes } of files) {
    const encoded = new TextEncoder().encode(name), crc = crc32(bytes);
    const header = (signature, extra) => {
      const view = new DataView(new ArrayBuffer(extra ? 46 : 30));
      view.setUint32(0, signature, true);
      let at = 4;
      if (extra) view.setUint16(at, 20, true), at += 2;
      view.setUint16(at, 20, true); view.setUint16(at + 2, 0x0800, true); view.setUint16(at + 4, 0, true);
      view.setUint32(at + 10, crc, true); view.setUint32(at + 14, bytes.length, true); view.setUint32(at + 18, bytes.length, true);
      view.setUint16(at + 22, encoded.length, true);
      if (extra) view.setUint32(42, offset, true);
      return new Uint8Array(view.buffer);
    };
    parts.push(header(0x04034b50, false), encoded, bytes);
    central.push(header(0x02014b50, true), encoded);
    offset += 30 + encoded.length + bytes.length;
  }
  const size = central.reduce((sum, part) => sum + part.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true); end.setUint16(8, files.length, true); end.setUint16(10, files.length, true);
  end.setUint32(12, size, true); end.setUint32(16, offset, true);
  return new Blob([...parts, ...central, new Uint8Array(end.buffer)], { type: "application/zip" });
}
$("zip").addEventListener("click", async () => {
  const files = [];
  for (const item of state.results.filter((result) => result.status === "ok")) {
    const bytes = new Uint8Array(await (await api(item.url)).arrayBuffer());
    files.push({ name: `${item.index}-${item.filename.replace(/\.[^.]*$/, "")}.${item.format}`, bytes });
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(zip(files));
  link.download = "calotype-results.zip";
  link.click();
});

// --- The engine view ---------------------------------------------------------

const history = new Map();
function sparkline(values, label) {
  const canvas = document.createElement("canvas");
  canvas.width = 80; canvas.height = 18;
  canvas.setAttribute("role", "img"); canvas.setAttribute("aria-label", label);
  const context = canvas.getContext("2d"), top = Math.max(...values, 1e-9);
  context.strokeStyle = "#1f6f4a"; context.beginPath();
  values.forEach((value, index) => context.lineTo(index * 80 / Math.max(values.length - 1, 1), 17 - value / top * 16));
  context.stroke();
  return canvas;
}
async function refreshEngine() {
  try {
    const [stats, health] = await Promise.all([(await api("/stats")).json(), (await api("/health")).json()]);
    const now = Date.now() / 1000, rows = [];
    for (const lane of stats.scheduler.lanes) {
      const samples = history.get(lane.name) ?? [];
      samples.push({ at: now, completed: lane.completed, busy: lane.busy_seconds });
      while (samples.length > 31) samples.shift();
      history.set(lane.name, samples);
      const rates = [], latencies = [];
      for (let i = 1; i < samples.length; i++) {
        const done = samples[i].completed - samples[i - 1].completed;
        rates.push(done / (samples[i].at - samples[i - 1].at));
        latencies.push(done > 0 ? (samples[i].busy - samples[i - 1].busy) / done * 1000 : 0);
      }
      const first = samples[0], last = samples[samples.length - 1];
      const rate = last.at > first.at ? (last.completed - first.completed) / (last.at - first.at) : 0;
      const latency = last.completed > first.completed ? (last.busy - first.busy) / (last.completed - first.completed) * 1000 : 0;
      const backend = health.backends.find((candidate) => candidate.name === lane.name) ?? {};
      const row = document.createElement("tr");
      row.dataset.lane = lane.name;
      const cell = (text, className) => { const td = document.createElement("td"); td.textContent = text; if (className) td.className = className; row.append(td); return td; };
      cell(`${lane.name} (${lane.kind})`);
      cell(String(lane.workers)); cell(String(lane.running)); cell(String(lane.queued));
      cell(lane.healthy ? "healthy" : `quarantined ${Math.round(lane.quarantined_for_seconds ?? 0)} s`, lane.healthy ? "" : "bad");
      cell(rate.toFixed(1)).append(sparkline(rates, `images per second over the last minute, ${lane.name}`));
      cell(latency.toFixed(0)).append(sparkline(latencies, `milliseconds per image over the last minute, ${lane.name}`));
      cell(backend.self_check ?? "—");
      rows.push(row);
    }
    document.querySelector("#lanes tbody").replaceChildren(...rows);
    if (stats.cluster) {
      $("cluster").hidden = false;
      $("cluster-items").textContent = "Items: " + Object.entries(stats.cluster.items).map(([name, count]) => `${count} ${name}`).join(", ") +
        "; queued per pool: " + Object.entries(stats.cluster.queued).map(([pool, count]) => `${pool} ${count}`).join(", ");
      document.querySelector("#nodes tbody").replaceChildren(...stats.cluster.nodes.map((node) => {
        const row = document.createElement("tr");
        for (const text of [node.name, node.cpu_workers, node.gpu_workers, node.running, `${node.last_heartbeat_s.toFixed(1)} s ago`]) {
          const td = document.createElement("td"); td.textContent = String(text); row.append(td);
        }
        return row;
      }));
    }
  } catch { /* the next refresh tries again */ }
}

loadSchema().then(resume);
refreshEngine();
setInterval(refreshEngine, 2000);
