import { describe, expect, it } from "vitest";
import { nextPollDelay, parseInbox, POLL_MAX_MS, POLL_MIN_MS, rememberId, safeLinkUrl } from "./browser/widget/inbox";

describe("the widget inbox answer", () => {
  it("keeps well-formed popups and chat messages, oldest first, with text fields only", () => {
    const messages = parseInbox({
      messages: [
        { id: "2", channel: "chat", content: { text: "Need help?", senderName: "Ann", extra: { html: "<b>x</b>" } }, createdAt: "2025-01-02T00:00:00Z" },
        { id: 1, channel: "popup", content: { title: "Hi", body: 42, buttonLabel: "Go" }, createdAt: "2025-01-01T00:00:00Z" },
        { id: "3", channel: "email", content: {} },
        { channel: "popup" },
        null,
      ],
    });
    expect(messages).toEqual([
      { id: "1", channel: "popup", content: { title: "Hi", buttonLabel: "Go" }, createdAt: "2025-01-01T00:00:00Z" },
      { id: "2", channel: "chat", content: { text: "Need help?", senderName: "Ann" }, createdAt: "2025-01-02T00:00:00Z" },
    ]);
  });

  it("treats anything else as an empty inbox", () => {
    expect(parseInbox(null)).toEqual([]);
    expect(parseInbox({ messages: "nope" })).toEqual([]);
  });
});

describe("popup button links", () => {
  it("allow web pages, relative or absolute, and refuse script and data URLs", () => {
    expect(safeLinkUrl("/pricing", "https://shop.example/cart")).toBe("https://shop.example/pricing");
    expect(safeLinkUrl("https://other.example/x", "https://shop.example/")).toBe("https://other.example/x");
    expect(safeLinkUrl("javascript:alert(1)", "https://shop.example/")).toBeNull();
    expect(safeLinkUrl(" JavaScript:alert(1)", "https://shop.example/")).toBeNull();
    expect(safeLinkUrl("data:text/html,<script>1</script>", "https://shop.example/")).toBeNull();
    expect(safeLinkUrl(undefined, "https://shop.example/")).toBeNull();
  });
});

describe("polling cadence", () => {
  it("is quick after messages, doubles while the inbox stays empty, and has a ceiling", () => {
    expect(nextPollDelay(null, "messages")).toBe(POLL_MIN_MS);
    const delays: number[] = [];
    let d: number | null = null;
    for (let i = 0; i < 10; i++) delays.push((d = nextPollDelay(d, "empty")));
    expect(delays.slice(0, 4)).toEqual([2000, 4000, 8000, 16000]);
    expect(delays.at(-1)).toBe(POLL_MAX_MS);
  });

  it("backs off further while the API is failing", () => {
    expect(nextPollDelay(2000, "error")).toBe(5000);
    expect(nextPollDelay(200_000, "error")).toBe(300_000);
  });

  it("remembers a bounded list of handled message ids", () => {
    let list: string[] | null = null;
    for (let i = 0; i < 5; i++) list = rememberId(list, String(i), 3);
    expect(list).toEqual(["2", "3", "4"]);
    expect(rememberId(["a", "b"], "a")).toEqual(["b", "a"]);
  });
});
