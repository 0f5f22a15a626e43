import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildTrackerBundle, loadTrackerBundle, TRACKER_SNIPPET_TEMPLATE, trackerSnippet } from "./index";

describe("the tracker bundle", () => {
  it("is one self-contained script of at most 12 KB gzipped", async () => {
    const code = await buildTrackerBundle();
    const gzipped = gzipSync(code, { level: 9 }).length;
    expect(gzipped).toBeLessThanOrEqual(12 * 1024);
    expect(code).not.toMatch(/\bimport\s*[({"']|\brequire\(/);
    expect(code).toMatch(/^\/\*! nurture\.js \d+\.\d+\.\d+ \*\/\n/);
  });

  it("is built once and served with a stable ETag", async () => {
    const [a, b] = await Promise.all([loadTrackerBundle(), loadTrackerBundle()]);
    expect(a).toBe(b);
    expect(a.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });
});

describe("the install snippet", () => {
  it("queues calls made before the tracker loads and loads it from the host", () => {
    const snippet = trackerSnippet({ writeKey: "wk_123", host: "https://nurture.example.com/" });
    expect(snippet).toContain('"wk_123","https://nurture.example.com"');
    expect(snippet).toContain('s.src=h+"/tracker.js"');
    expect(snippet).toMatch(/^<script>\n[\s\S]*\n<\/script>$/);
  });

  it("cannot be broken out of by a hostile value", () => {
    const snippet = trackerSnippet({ writeKey: "</script><script>alert(1)</script>", host: "https://x.example" });
    expect(snippet.match(/<\/script>/g)).toHaveLength(1);
  });

  it("has a template with placeholders for the README and /docs", () => {
    expect(TRACKER_SNIPPET_TEMPLATE).toContain("YOUR_WRITE_KEY");
  });
});
