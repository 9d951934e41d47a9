import Foundation
import TestSupport
import Testing

/// The page at `/` in a real headless Chromium: a user picks images, presses
/// Process, and watches every result arrive.
@Suite("Web page in a browser", .serialized, .timeLimit(.minutes(2)))
struct WebPageBrowserTests {
    static let images = ["photo.jpg", "exif-rotated.jpg", "alpha.png", "photo.webp", "document.pdf"]

    /// What the page shows once it is done (the summary written, the button
    /// enabled again: the page clears its status only after the stream ends,
    /// which is after `complete`), read from its DOM.
    static let finished = """
        new Promise((resolve) => {
          const read = () => {
            const images = [...document.querySelectorAll("#results img")];
            const done = document.getElementById("summary").textContent && !document.getElementById("go").disabled;
            if (!done || !images.every((image) => image.complete)) return setTimeout(read, 20);
            resolve({
              summary: document.getElementById("summary").textContent,
              status: document.getElementById("status").textContent,
              progress: [document.getElementById("progress").value, document.getElementById("progress").max],
              cards: [...document.querySelectorAll("#results .card")].map((card) => ({
                index: Number(card.dataset.index), error: card.classList.contains("error"), text: card.innerText,
                image: card.querySelector("img")?.naturalWidth ?? 0,
              })),
            });
          };
          read();
        })
        """

    @Test(arguments: ["/process-batch-fast", "/process-batch-stream", "/batches"])
    func aUserPicksImagesAndSeesEveryResult(mode: String) async throws {
        try await withServer { client, _ in
            let port = try #require(client.port)
            let browser = try HeadlessBrowser()
            do {
                try await browser.open("http://127.0.0.1:\(port)/")
                let paths = Self.images.map { Fixtures.folder.appendingPathComponent($0).path }
                try await browser.setFiles("#files", paths)
                _ = try await browser.evaluate("""
                    document.getElementById("width").value = "120";
                    document.getElementById("format").value = "png";
                    document.getElementById("mode").value = "\(mode)";
                    document.getElementById("go").click();
                    """)
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
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()
        }
    }
}
