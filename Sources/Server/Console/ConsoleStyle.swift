/// `GET /console.css`: the console's style, readable on a phone (one
/// column under 48rem), with visible focus for keyboard users.
enum ConsoleStyle {
    static let css = #"""
        :root { --line: #d8d8d8; --soft: #f4f4f4; --accent: #1f6f4a; --bad: #a22; }
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 0 1rem 3rem; color: #222; }
        header { display: flex; align-items: baseline; justify-content: space-between; }
        h1 { font-weight: 650; margin: 1rem 0 .2rem; } h2 { font-size: 1.2rem; margin-top: 1.5rem; } h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
        a, button, select, input { font: inherit; }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        button { padding: .35rem 1rem; border: 1px solid #888; border-radius: 6px; background: #fff; cursor: pointer; }
        button.small { padding: 0 .5rem; font-size: 12px; }
        button#go { background: var(--accent); color: #fff; border-color: var(--accent); }
        button:disabled { opacity: .5; cursor: default; }
        #drop { border: 2px dashed #999; border-radius: 8px; padding: 1.2rem; text-align: center; }
        #drop.over { border-color: var(--accent); background: #f3fbf6; }
        .builder { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
        /* Grid cells and fieldsets otherwise grow to their widest content (a long option). */
        .builder > div, fieldset { min-width: 0; } select { max-width: 100%; } #add-op { max-width: 15rem; }
        .scroll { overflow-x: auto; }
        @media (max-width: 48rem) { .builder { grid-template-columns: 1fr; } }
        fieldset { border: 1px solid var(--line); border-radius: 8px; display: flex; flex-wrap: wrap; gap: .6rem 1rem; margin: 0 0 .6rem; }
        label { display: flex; flex-direction: column; font-size: 13px; color: #555; }
        label.inline { display: inline-flex; flex-direction: row; gap: .4rem; align-items: center; }
        label input[type=number] { width: 6rem; } label input[type=text] { width: 9rem; }
        input:invalid { border-color: var(--bad); }
        #ops { padding-left: 1.4rem; margin: 0; } #ops li { margin-bottom: .6rem; }
        #ops legend { font-weight: 600; } #ops .summary { color: #666; font-size: 12px; width: 100%; }
        #ops .moves { margin-left: auto; display: flex; gap: .3rem; }
        pre { background: var(--soft); border-radius: 6px; padding: .6rem; white-space: pre-wrap; word-break: break-all; font-size: 12px; min-height: 2rem; }
        #invalid { color: var(--bad); }
        progress { width: 100%; height: 1.1rem; margin: .6rem 0 .2rem; }
        #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .8rem; margin-top: .8rem; }
        .card { border: 1px solid var(--line); border-radius: 8px; padding: .5rem; font-size: 13px; }
        .card button.open { display: block; width: 100%; padding: 0; border: 0; background: var(--soft); }
        .card img { width: 100%; height: 9rem; object-fit: contain; display: block; border-radius: 4px; }
        .card.error { border-color: #d55; color: var(--bad); }
        table { border-collapse: collapse; width: 100%; font-size: 13px; margin: .4rem 0; }
        caption { text-align: left; color: #666; padding-bottom: .3rem; }
        th, td { border-bottom: 1px solid var(--line); padding: .3rem .4rem; text-align: left; vertical-align: middle; }
        td canvas { vertical-align: middle; margin-left: .4rem; }
        .bad { color: var(--bad); }
        dialog { width: min(64rem, 95vw); border: 1px solid var(--line); border-radius: 10px; }
        .compare { position: relative; overflow: auto; max-height: 70vh; background: var(--soft); }
        .compare img { display: block; width: calc(100% * var(--zoom, 1)); max-width: none; }
        #after-clip { position: absolute; inset: 0; clip-path: inset(0 0 0 var(--split, 50%)); }
        #after-clip img { height: 100%; object-fit: fill; }
        """#
}
