import CalotypeApp
import Foundation
import Server
import TestSupport
import Testing

/// The console at `/` in a real headless Chromium: a user builds a recipe
/// with its controls, picks images, runs them in each mode and watches
/// every result arrive; reloads in the middle of a resumable batch; opens
/// a comparison; cancels; watches the engine view.
@Suite("Web page in a browser", .serialized, .timeLimit(.minutes(3)))
struct WebPageBrowserTests {
    static let images = ["photo.jpg", "exif-rotated.jpg", "alpha.png", "photo.webp", "document.pdf"]

    /// Sets a control as a user would (its `input` event fires), once the
    /// builder has been made from the schema.
    static let helpers = """
        window.ready = () => new Promise((resolve) => {
          const look = () => document.getElementById("op-0-width") ? resolve(true) : setTimeout(look, 20);
          look();
        });
        window.set = (id, value) => {
          const control = document.getElementById(id);
          control.value = value;
          control.dispatchEvent(new Event("input"));
        };
        """

    /// What the page shows once it is done (the summary written, the button
    /// enabled again), read from its DOM.
    static let finished = """
        new Promise((resolve) => {
          const read = () => {
            const images = [...document.querySelectorAll("#results img")];
            const done = document.getElementById("summary").textContent && !document.getElementById("go").disabled;
            // With a key, a result's image is fetched first and its src set after.
            if (!done || !images.every((image) => image.getAttribute("src") && image.complete)) return setTimeout(read, 20);
            resolve({
              summary: document.getElementById("summary").textContent,
              status: document.getElementById("status").textContent,
              progress: [document.getElementById("progress").value, document.getElementById("progress").max],
              cards: [...document.querySelectorAll("#results .card")].map((card) => ({
                index: Number(card.dataset.index), error: card.classList.contains("error"), text: card.innerText,
                image: card.querySelector("img")?.naturalWidth ?? 0, height: card.querySelector("img")?.naturalHeight ?? 0,
              })),
            });
          };
          read();
        })
        """

    static func withConsole(
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (HeadlessBrowser, Int) async throws -> Void
    ) async throws {
        try await withServer(configure: configure) { client, _ in
            let port = try #require(client.port)
            let browser = try HeadlessBrowser()
            do {
                try await browser.open("http://127.0.0.1:\(port)/")
                _ = try await browser.evaluate(Self.helpers)
                _ = try await browser.evaluate("ready()")
                try await body(browser, port)
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()
        }
    }

    static func pick(_ names: [String], in browser: HeadlessBrowser) async throws {
        try await browser.setFiles("#files", names.map { Fixtures.folder.appendingPathComponent($0).path })
    }

    @Test(arguments: ["/process-batch-fast", "/process-batch-stream", "/batches"])
    func aUserPicksImagesAndSeesEveryResult(mode: String) async throws {
        try await Self.withConsole { browser, _ in
            try await Self.pick(Self.images, in: browser)
            _ = try await browser.evaluate(
                """
                set("op-0-width", "120"); set("out-format", "png"); set("mode", "\(mode)");
                document.getElementById("go").click();
                """
            )
            let page = try #require(try await browser.evaluate(Self.finished) as? [String: Any])
            #expect((page["summary"] as? String)?.hasPrefix("4 done, 1 failed, in ") == true, "\(page["summary"] ?? "")")
            #expect((page["status"] as? String)?.isEmpty == true, "no error shown: \(page["status"] ?? "")")
            #expect((page["progress"] as? [NSNumber])?.map(\.intValue) == [5, 5])
            let cards = try #require(page["cards"] as? [[String: Any]])
            #expect(cards.compactMap { $0["index"] as? Int }.sorted() == [0, 1, 2, 3, 4], "one card per image")
            for card in cards {
                let index = try #require(card["index"] as? Int)
                let text = card["text"] as? String ?? ""
                #expect(text.contains(Self.images[index]))
                if index == 4 {
                    #expect(card["error"] as? Bool == true && text.contains("unsupported_format"))
                } else {
                    // Each result with its size, backend and time, and its image loaded from its url.
                    #expect(card["error"] as? Bool == false)
                    #expect(text.contains("120×") && text.contains("libvips") && text.contains(" ms"), "\(text)")
                    #expect(card["image"] as? Int == 120, "the thumbnail loaded from its url")
                }
            }
        }
    }

    /// With API keys on, the user types a key once: every request the page
    /// makes carries it, the batch's events are read with it, and each
    /// result's image is fetched with it; without it the page says why.
    @Test(arguments: ["/process-batch-stream", "/batches"])
    func withAKeyTheConsoleRunsAndShowsEveryResult(mode: String) async throws {
        let made = try NewAPIKey(name: "console", scopes: ["batches", "metrics"])
        let keys = try APIKeys(json: Data(#"{"keys": [\#(made.entry)]}"#.utf8))
        try await Self.withConsole(configure: { $0.apiKeys = keys }) { browser, _ in
            try await Self.pick(["photo.jpg", "alpha.png"], in: browser)
            _ = try await browser.evaluate(
                #"set("op-0-width", "120"); set("out-format", "png"); set("mode", "\#(mode)"); document.getElementById("go").click();"#
            )
            let refused = try #require(
                try await browser.evaluate(
                    """
                    new Promise((resolve) => {
                      const read = () => document.getElementById("go").disabled ? setTimeout(read, 20) : resolve(document.getElementById("status").textContent);
                      read();
                    })
                    """
                ) as? String
            )
            #expect(refused.contains("unauthorized"), "\(refused)")
            _ = try await browser.evaluate(
                """
                (() => {
                  const input = document.getElementById("api-key");
                  input.value = "\(made.key)"; input.dispatchEvent(new Event("change"));
                  document.getElementById("go").click();
                })();
                """
            )
            let page = try #require(try await browser.evaluate(Self.finished) as? [String: Any])
            #expect((page["summary"] as? String)?.hasPrefix("2 done, 0 failed") == true, "\(page["summary"] ?? "") \(page["status"] ?? "")")
            let cards = try #require(page["cards"] as? [[String: Any]])
            #expect(cards.count == 2 && cards.allSatisfy { $0["image"] as? Int == 120 }, "every result's image loaded with the key: \(cards)")
            let stored = try await browser.evaluate(
                "sessionStorage.getItem('calotype.key') === '\(made.key)' && localStorage.getItem('calotype.key') === null"
            )
            #expect(stored as? Bool == true, "the key is kept for this tab only")
        }
    }

    /// Three operations through the controls: the recipe shown is the one
    /// sent, and the results show it was run (a quarter turn swaps width
    /// and height); the comparison opens with the original beside the result.
    @Test func aThreeOperationRecipeBuiltWithTheControls() async throws {
        try await Self.withConsole { browser, _ in
            let recipe =
                try await browser.evaluate(
                    """
                    set("op-0-width", "100");
                    document.getElementById("add-op").value = "rotate"; document.getElementById("add").click();
                    set("op-1-angle", "90");
                    document.getElementById("add-op").value = "grayscale"; document.getElementById("add").click();
                    set("out-format", "png");
                    document.getElementById("recipe-json").textContent
                    """
                ) as? String
            let json = try #require(try recipe.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            let ops = try #require(json["ops"] as? [[String: Any]])
            #expect(ops.map { $0["op"] as? String } == ["resize", "rotate", "grayscale"])
            #expect(ops[0]["width"] as? Int == 100 && ops[1]["angle"] as? Int == 90 && json["format"] as? String == "png")
            let query = try await browser.evaluate("document.getElementById('recipe-query').textContent") as? String
            #expect(query?.contains("width=100") == true && query?.contains("format=png") == true, "\(query ?? "")")
            // Grayscale has no GET option; without it, the command that signs the URL.
            let refused = try await browser.evaluate("document.getElementById('recipe-get').textContent") as? String
            #expect(refused?.contains("does not run grayscale") == true, "\(refused ?? "")")
            let command =
                try await browser.evaluate(
                    """
                    [...document.querySelectorAll("#ops li")][2].querySelector("button[aria-label^='Remove']").click();
                    document.getElementById("recipe-get").textContent
                    """
                ) as? String
            #expect(
                command == "calotype sign https://images.example.com/photo.jpg --options 'rs:fit:100:0/rot:90' --extension png",
                "\(command ?? "")"
            )
            _ = try await browser.evaluate(
                """
                document.getElementById("add-op").value = "grayscale"; document.getElementById("add").click();
                """
            )

            try await Self.pick(["photo.jpg"], in: browser)
            // What the page sends, seen on its way out.
            _ = try await browser.evaluate(
                """
                const send = window.fetch;
                window.sent = [];
                window.fetch = (url, init) => {
                  if (init?.body instanceof FormData) window.sent.push({ url: String(url), recipe: init.body.get("recipe"), files: init.body.getAll("files").length });
                  return send(url, init);
                };
                document.getElementById('go').click();
                """
            )
            let page = try #require(try await browser.evaluate(Self.finished) as? [String: Any])
            let sent = try #require((try await browser.evaluate("window.sent") as? [[String: Any]])?.first)
            #expect((sent["url"] as? String)?.hasPrefix("/process-batch-fast?") == true && sent["files"] as? Int == 1)
            let sentRecipe = try #require(
                (sent["recipe"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? NSDictionary }
            )
            #expect(sentRecipe.isEqual(NSDictionary(dictionary: json)), "the recipe sent is the one shown: \(sentRecipe)")
            let card = try #require((page["cards"] as? [[String: Any]])?.first)
            // photo.jpg is 320x240: 100x75, then a quarter turn.
            #expect(card["image"] as? Int == 75 && card["height"] as? Int == 100, "\(card)")

            let comparison =
                try await browser.evaluate(
                    """
                    new Promise((resolve) => {
                      document.querySelector("#results .card button").click();
                      const look = () => document.getElementById("after").complete && document.getElementById("before").complete
                        ? resolve({ open: document.getElementById("compare").open, before: document.getElementById("before").src,
                                    after: document.getElementById("after").src })
                        : setTimeout(look, 20);
                      look();
                    })
                    """
                ) as? [String: Any]
            #expect(comparison?["open"] as? Bool == true)
            #expect((comparison?["before"] as? String)?.hasPrefix("blob:") == true, "the original, from the user's own file")
            #expect((comparison?["after"] as? String)?.contains("/results/") == true)

            // Download all: the zip made in the browser holds the result.
            let archive =
                try await browser.evaluate(
                    """
                    new Promise((resolve) => {
                      document.getElementById("compare").close();
                      const make = URL.createObjectURL;
                      URL.createObjectURL = (blob) => {
                        URL.createObjectURL = make;
                        blob.arrayBuffer().then((buffer) => {
                          const bytes = new Uint8Array(buffer), view = new DataView(buffer);
                          const end = bytes.length - 22;
                          resolve({ type: blob.type, local: view.getUint32(0, true), entries: view.getUint16(end + 10, true),
                                    name: new TextDecoder().decode(bytes.slice(30, 30 + view.getUint16(26, true))),
                                    size: view.getUint32(22, true) });
                        });
                        return make(blob);
                      };
                      document.getElementById("zip").click();
                    })
                    """
                ) as? [String: Any]
            #expect(archive?["type"] as? String == "application/zip" && archive?["local"] as? Int == 0x0403_4B50)
            #expect(archive?["entries"] as? Int == 1 && archive?["name"] as? String == "0-photo.png", "\(archive ?? [:])")
            #expect((archive?["size"] as? Int ?? 0) > 100, "the result's bytes are in it")
        }
    }

    /// A resumable batch survives a reload: the page picks it up from its
    /// Last-Event-ID and finishes with each result exactly once.
    @Test func aResumableBatchSurvivesAReload() async throws {
        try await Self.withConsole { browser, port in
            let names = Array(repeating: ["photo.jpg", "alpha.png", "photo.webp"], count: 12).flatMap { $0 }
            try await Self.pick(names, in: browser)
            // Slow enough items that the reload comes in the middle.
            _ = try await browser.evaluate(
                """
                set("op-0-width", "64"); set("out-format", "png"); set("mode", "/batches");
                document.getElementById("add-op").value = "blur"; document.getElementById("add").click(); set("op-1-sigma", "20");
                document.getElementById("go").click();
                new Promise((resolve) => {
                  const look = () => document.querySelectorAll("#results .card").length >= 2 ? resolve(true) : setTimeout(look, 5);
                  look();
                })
                """
            )
            let running = try await browser.evaluate("JSON.parse(localStorage.getItem('calotype.batch'))?.lastEventID ?? -1") as? Int
            #expect((running ?? -1) > 0, "reloaded while the batch runs, some of its events seen")
            try await browser.open("http://127.0.0.1:\(port)/")
            let page = try #require(try await browser.evaluate(Self.finished) as? [String: Any])
            let cards = try #require(page["cards"] as? [[String: Any]])
            #expect(cards.compactMap { $0["index"] as? Int }.sorted() == Array(0..<36), "each result once after the reload")
            #expect((page["summary"] as? String)?.hasPrefix("36 done, 0 failed") == true, "\(page["summary"] ?? "")")
            let left = try await browser.evaluate("localStorage.getItem('calotype.batch')")
            #expect(left == nil || left is NSNull, "nothing left to resume")
        }
    }

    /// Cancel stops a resumable batch: its summary counts what was cancelled.
    @Test func aBatchIsCancelled() async throws {
        try await Self.withConsole { browser, _ in
            try await Self.pick(Array(repeating: "photo.jpg", count: 30), in: browser)
            _ = try await browser.evaluate(
                """
                set("op-0-width", "300"); document.getElementById("add-op").value = "blur"; document.getElementById("add").click();
                set("op-1-sigma", "20"); set("mode", "/batches");
                document.getElementById("go").click();
                new Promise((resolve) => {
                  const look = () => !document.getElementById("cancel").hidden ? resolve(true) : setTimeout(look, 5);
                  look();
                })
                """
            )
            _ = try await browser.evaluate("document.getElementById('cancel').click()")
            let page = try #require(try await browser.evaluate(Self.finished) as? [String: Any])
            let summary = page["summary"] as? String ?? ""
            #expect(summary.contains("cancelled"), "\(summary)")
        }
    }

    /// The engine view's numbers move while a batch runs.
    @Test func theEngineViewShowsTheWork() async throws {
        try await Self.withConsole { browser, _ in
            try await Self.pick(Array(repeating: "photo.jpg", count: 12), in: browser)
            _ = try await browser.evaluate(
                """
                set("op-0-width", "200"); document.getElementById("go").click();
                """
            )
            _ = try await browser.evaluate(Self.finished)
            let rate =
                try await browser.evaluate(
                    """
                    new Promise((resolve) => {
                      const look = () => {
                        const row = document.querySelector("#lanes tbody tr");
                        const rate = row ? Number(row.children[5].firstChild.textContent) : 0;
                        rate > 0 ? resolve({ rate, lane: row.children[0].textContent }) : setTimeout(look, 100);
                      };
                      look();
                    })
                    """
                ) as? [String: Any]
            #expect((rate?["rate"] as? Double ?? 0) > 0)
            #expect((rate?["lane"] as? String)?.isEmpty == false)
        }
    }

    /// The console's states as a user sees them: a recipe being built, the
    /// results, the comparison, the engine view. Each screenshot must be a
    /// PNG of the page; with `CALOTYPE_SCREENSHOTS=folder` they are written
    /// there (`docs/console/` holds the ones the README shows).
    @Test func screenshotsOfEachState() async throws {
        try await Self.withConsole { browser, _ in
            var shots: [(String, Data)] = []
            _ = try await browser.evaluate(
                """
                set("op-0-width", "240");
                document.getElementById("add-op").value = "sharpen"; document.getElementById("add").click(); set("op-1-sigma", "1");
                document.getElementById("add-op").value = "adjust"; document.getElementById("add").click(); set("op-2-brightness", "0.1");
                set("out-format", "webp");
                """
            )
            shots.append(("1-recipe.png", try await browser.screenshot()))
            try await Self.pick(["photo.jpg", "alpha.png", "photo.webp", "exif-rotated.jpg"], in: browser)
            _ = try await browser.evaluate("document.getElementById('go').click()")
            _ = try await browser.evaluate(Self.finished)
            shots.append(("2-results.png", try await browser.screenshot()))
            _ = try await browser.evaluate(
                """
                new Promise((resolve) => {
                  document.querySelector("#results .card button").click();
                  const look = () => document.getElementById("after").complete && document.getElementById("before").complete ? resolve(true) : setTimeout(look, 20);
                  look();
                })
                """
            )
            shots.append(("3-comparison.png", try await browser.screenshot()))
            _ = try await browser.evaluate(
                """
                document.getElementById("compare").close();
                new Promise((resolve) => {
                  const look = () => Number(document.querySelector("#lanes tbody tr")?.children[5].firstChild.textContent ?? 0) > 0
                    ? resolve(true) : setTimeout(look, 100);
                  look();
                })
                """
            )
            _ = try await browser.evaluate("document.getElementById('engine').scrollIntoView()")
            shots.append(("4-engine.png", try await browser.screenshot()))
            // On a phone: one column.
            shots.append(("5-phone.png", try await browser.screenshot(width: 400)))
            let columns =
                try await browser.evaluate("getComputedStyle(document.querySelector('.builder')).gridTemplateColumns.split(' ').length") as? Int
            #expect(columns == 1, "one column at 400 px")
            let width = try await browser.evaluate("document.documentElement.scrollWidth") as? Int
            #expect((width ?? .max) <= 400, "nothing wider than the phone: \(width ?? 0) px")
            let folder = ProcessInfo.processInfo.environment["CALOTYPE_SCREENSHOTS"].map(URL.init(fileURLWithPath:))
            for (name, png) in shots {
                #expect(png.count > 5000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(name) is a PNG of the page")
                if let folder {
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    try png.write(to: folder.appendingPathComponent(name))
                }
            }
        }
    }
}
