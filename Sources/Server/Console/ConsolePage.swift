/// `GET /`: the console. Plain HTML; its style and script are served
/// beside it (`/console.css`, `/console.js`), and its recipe builder is
/// made from the operations' own declarations (the recipe's JSON Schema in
/// `/openapi.json`), so that nothing about an operation is written twice.
enum ConsolePage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Calotype console</title>
        <link rel="stylesheet" href="/console.css">
        </head>
        <body>
        <header>
          <h1>Calotype</h1>
          <nav aria-label="Sections"><a href="#run">Run</a> <a href="#engine">Engine</a></nav>
        </header>
        <main>
        <section id="run" aria-labelledby="run-title">
          <h2 id="run-title">Try a recipe</h2>
          <form id="form" novalidate>
            <div id="drop" aria-label="Images">Drop images here, or
              <label class="inline">choose <input id="files" name="files" type="file" accept="image/*" multiple></label>
            </div>
            <div class="builder">
              <div>
                <h3>Operations, in order</h3>
                <ol id="ops" aria-live="polite"></ol>
                <p class="add">
                  <label class="inline">Add <select id="add-op" aria-label="Operation to add"></select></label>
                  <button type="button" id="add">Add</button>
                </p>
                <h3>Output</h3>
                <fieldset id="output" aria-label="Output options"></fieldset>
                <fieldset aria-label="How to run">
                  <label>backend <select id="backend"><option>auto</option><option>cpu</option><option>gpu</option></select></label>
                  <label>mode <select id="mode">
                    <option value="/process-batch-fast">parallel</option>
                    <option value="/process-batch-stream">one at a time</option>
                    <option value="/batches">resumable</option>
                  </select></label>
                </fieldset>
              </div>
              <div>
                <h3>The recipe <button type="button" id="copy-json" class="small">copy</button></h3>
                <pre id="recipe-json" aria-label="The recipe as JSON"></pre>
                <h3>As a query <button type="button" id="copy-query" class="small">copy</button></h3>
                <pre id="recipe-query" aria-label="The recipe as a query string"></pre>
                <h3>As a GET URL <button type="button" id="copy-get" class="small">copy</button></h3>
                <pre id="recipe-get" aria-label="The command that signs the recipe's GET /img URL"></pre>
                <p id="invalid" role="alert"></p>
              </div>
            </div>
            <p><button id="go" type="submit">Process</button> <button id="cancel" type="button" hidden>Cancel</button>
              <button id="zip" type="button" hidden>Download all (zip)</button> <span id="status" role="status"></span></p>
          </form>
          <progress id="progress" value="0" max="1" aria-label="Items done"></progress>
          <div id="summary" role="status"></div>
          <div id="results" aria-label="Results"></div>
        </section>
        <section id="engine" aria-labelledby="engine-title">
          <h2 id="engine-title">Engine</h2>
          <div class="scroll"><table id="lanes">
            <caption>Lanes, refreshed every 2 s: throughput and mean service time over the last minute</caption>
            <thead><tr><th scope="col">lane</th><th scope="col">workers</th><th scope="col">running</th><th scope="col">queued</th>
              <th scope="col">health</th><th scope="col">images/s</th><th scope="col">ms per image</th><th scope="col">self-check</th></tr></thead>
            <tbody></tbody>
          </table></div>
          <div id="cluster" hidden>
            <h3>Cluster</h3>
            <p id="cluster-items"></p>
            <div class="scroll"><table id="nodes"><caption>Nodes</caption>
              <thead><tr><th scope="col">node</th><th scope="col">CPU workers</th><th scope="col">GPU workers</th>
                <th scope="col">items held</th><th scope="col">last heartbeat</th></tr></thead>
              <tbody></tbody>
            </table></div>
          </div>
        </section>
        </main>
        <dialog id="compare" aria-labelledby="compare-title">
          <h2 id="compare-title">Before and after</h2>
          <div id="compare-view" class="compare">
            <img id="before" alt="The original">
            <div id="after-clip"><img id="after" alt="The result"></div>
          </div>
          <p>
            <label class="inline">before ◀ <input id="split" type="range" min="0" max="100" value="50" aria-label="Where the original ends"> ▶ after</label>
            <label class="inline">zoom <select id="zoom"><option value="1">fit</option><option value="2">2×</option><option value="4">4×</option></select></label>
            <a id="download-one" download>download</a>
            <button type="button" id="close-compare">Close</button>
          </p>
        </dialog>
        <script src="/console.js"></script>
        </body>
        </html>
        """#
}
