/// `GET /`: a small page to try the API by hand: pick or drop images,
/// choose options, and watch the results arrive one by one from the stream.
enum WebPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Calotype</title>
    <style>
      body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
      h1 { font-weight: 600; margin-bottom: .2rem; }
      #drop { border: 2px dashed #999; border-radius: 8px; padding: 2rem; text-align: center; margin: 1rem 0; }
      #drop.over { border-color: #2a6; background: #f3fbf6; }
      fieldset { border: 1px solid #ddd; border-radius: 8px; display: flex; flex-wrap: wrap; gap: .8rem 1.2rem; }
      label { display: flex; flex-direction: column; font-size: 13px; color: #555; }
      progress { width: 100%; height: 1.2rem; margin: 1rem 0 .3rem; }
      #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: 1rem; margin-top: 1rem; }
      .card { border: 1px solid #ddd; border-radius: 8px; padding: .5rem; font-size: 13px; }
      .card img { width: 100%; height: 9rem; object-fit: contain; background: #f4f4f4; border-radius: 4px; }
      .card.error { border-color: #d55; color: #a22; }
      button { font: inherit; padding: .4rem 1.2rem; }
    </style>
    </head>
    <body>
    <h1>Calotype</h1>
    <p>Pick or drop images; results appear as each one finishes.</p>
    <form id="form">
      <div id="drop">Drop images here, or <input id="files" name="files" type="file" accept="image/*" multiple></div>
      <fieldset>
        <label>width <input id="width" type="number" min="1" max="16384" value="800"></label>
        <label>height <input id="height" type="number" min="1" max="16384"></label>
        <label>fit <select id="fit"><option>inside</option><option>cover</option><option>fill</option><option>contain</option></select></label>
        <label>format <select id="format"><option>webp</option><option>jpeg</option><option>png</option><option>avif</option><option>original</option></select></label>
        <label>quality <input id="quality" type="number" min="1" max="100" value="80"></label>
        <label>backend <select id="backend"><option>auto</option><option>cpu</option><option>gpu</option></select></label>
        <label>mode <select id="mode"><option value="/process-batch-fast">parallel</option><option value="/process-batch-stream">one at a time</option><option value="/batches">resumable (EventSource)</option></select></label>
      </fieldset>
      <p><button id="go" type="submit">Process</button> <span id="status"></span></p>
    </form>
    <progress id="progress" value="0" max="1"></progress>
    <div id="summary"></div>
    <div id="results"></div>
    <script>
    // The event-stream reader of docs/STREAMING_GUIDE.md: survives events split across chunks.
    async function readEventStream(response, onEvent) {
      const reader = response.body.getReader();
      const decoder = new TextDecoder("utf-8");
      let buffer = "", event = { event: "message", data: [] };
      const dispatch = () => {
        if (event.data.length) onEvent({ event: event.event, data: event.data.join("\n") });
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
          if (field === "data") event.data.push(text); else if (field === "event") event.event = text;
        }
        if (done) { dispatch(); return; }
      }
    }

    // POST /batches, then follow its events with EventSource, which reconnects
    // by itself (sending Last-Event-ID) if the connection drops.
    async function followBatch(query, form, onEvent) {
      const response = await fetch(`/batches?${query}`, { method: "POST", body: form });
      if (!response.ok) { const { error } = await response.json(); throw new Error(`${error.code}: ${error.message}`); }
      const { events_url } = await response.json();
      await new Promise((resolve, reject) => {
        const source = new EventSource(events_url);
        for (const event of ["progress", "result", "error", "complete"]) {
          source.addEventListener(event, (e) => {
            // A dropped connection is an "error" without data: EventSource retries it.
            if (e.data === undefined) {
              if (source.readyState === EventSource.CLOSED) reject(new Error("the event stream was refused"));
              return;
            }
            onEvent({ event, data: e.data });
            if (event === "complete") { source.close(); resolve(); }
          });
        }
      });
    }

    const $ = (id) => document.getElementById(id);
    const drop = $("drop");
    let dropped = null;
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault(); drop.classList.remove("over");
      dropped = [...e.dataTransfer.files];
      $("status").textContent = `${dropped.length} file(s) dropped`;
    });

    function card(item) {
      const div = document.createElement("div");
      div.className = "card" + (item.status === "ok" ? "" : " error");
      div.dataset.index = item.index;
      if (item.status === "ok") {
        div.innerHTML = `<img alt=""><div class="name"></div><div>${item.width}×${item.height} ${item.format}, ${(item.bytes / 1024).toFixed(1)} KiB</div>` +
          `<div>${item.backend}${item.fallback ? " (fallback)" : ""}, ${item.duration_ms.toFixed(0)} ms</div>`;
        div.querySelector("img").src = item.url;
      } else {
        div.innerHTML = `<div class="name"></div><div class="code"></div>`;
        div.querySelector(".code").textContent = `${item.code}: ${item.message}`;
      }
      div.querySelector(".name").textContent = item.filename;
      return div;
    }

    $("form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const files = dropped ?? [...$("files").files];
      if (!files.length) { $("status").textContent = "choose some images first"; return; }
      const form = new FormData();
      for (const file of files) form.append("files", file, file.name);
      const query = new URLSearchParams({ width: $("width").value, fit: $("fit").value, format: $("format").value, quality: $("quality").value, backend: $("backend").value });
      if ($("height").value) query.set("height", $("height").value);
      $("results").replaceChildren(); $("summary").textContent = "";
      $("progress").max = files.length; $("progress").value = 0;
      $("status").textContent = "working…"; $("go").disabled = true;
      const show = ({ event, data }) => {
        const item = JSON.parse(data);
        if (event === "progress") $("progress").value = item.completed;
        if (event === "result" || event === "error") $("results").append(card(event === "error" ? { ...item, status: "error" } : item));
        if (event === "complete") $("summary").textContent = `${item.succeeded} done, ${item.failed} failed, in ${(item.duration_ms / 1000).toFixed(2)} s`;
      };
      try {
        if ($("mode").value === "/batches") {
          await followBatch(query, form, show);
        } else {
          const response = await fetch(`${$("mode").value}?${query}`, { method: "POST", body: form });
          if (!response.ok) { const { error } = await response.json(); throw new Error(`${error.code}: ${error.message}`); }
          await readEventStream(response, show);
        }
        $("status").textContent = "";
      } catch (error) {
        $("status").textContent = error.message;
      } finally {
        $("go").disabled = false; dropped = null;
      }
    });
    </script>
    </body>
    </html>
    """#
}
