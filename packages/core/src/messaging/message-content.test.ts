import { describe, expect, it } from "vitest";
import { campaignInputSchema, stepSchema } from "./campaign.schema";
import { appendOpenPixel, htmlToText, rewriteLinks } from "./email-html";
import { renderStepContent, singleLine, templateData } from "./message-content";

const data = (properties: Record<string, unknown>) =>
  templateData({ card: { userId: "u1", properties }, event: { name: "cart_abandoned", properties: { total: 42 } }, campaignName: "Cart", unsubscribeUrl: "https://x.test/u/1" });

describe("step content", () => {
  it("renders an email with a one-line subject, escaped HTML and a derived text part", async () => {
    const step = stepSchema.parse({
      channel: "email",
      content: { subject: "Hi {{ user.name }}, you left {{ event.properties.total }}", html: "<p>Dear {{ user.name }}</p><a href=\"{{ unsubscribe_url }}\">unsubscribe</a>" },
    });
    const out = await renderStepContent(step, data({ name: "Ann\r\nBcc: evil@x.test <b>" }));
    expect(out).toMatchObject({ channel: "email", subject: "Hi Ann Bcc: evil@x.test <b>, you left 42" });
    if (out.channel !== "email") return;
    expect(out.html).toContain("Dear Ann\r\nBcc: evil@x.test &lt;b&gt;");
    expect(out.text).toContain("unsubscribe (https://x.test/u/1)");
  });

  it("keeps only http(s) popup links", async () => {
    const popup = (buttonUrl: string) => stepSchema.parse({ channel: "popup", content: { body: "Hello", buttonUrl } });
    expect(await renderStepContent(popup("https://shop.test/{{ user.plan }}"), data({ plan: "pro" }))).toMatchObject({ buttonUrl: "https://shop.test/pro" });
    expect(await renderStepContent(popup("javascript:alert(1)"), data({}))).not.toHaveProperty("buttonUrl");
  });

  it("renders a webhook body as JSON with templated strings", async () => {
    const step = stepSchema.parse({ channel: "webhook", content: { url: "https://crm.test/hook", body: { name: "{{ user.name }}", tags: ["{{ campaign.name }}"], n: 1 } } });
    expect(await renderStepContent(step, data({ name: 'A"nn' }))).toEqual({ channel: "webhook", url: "https://crm.test/hook", body: { name: 'A"nn', tags: ["Cart"], n: 1 } });
  });

  it("refuses broken templates on save with the field, line and column", () => {
    const result = campaignInputSchema.safeParse({
      name: "c",
      trigger: { type: "event", event: "x" },
      steps: [{ channel: "email", content: { subject: "ok", html: "<p>\n{{ user.name | nope }}</p>" } }],
    });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path).toEqual(["steps", 0, "content", "html"]);
    expect(issue.message).toMatch(/line 2, column 1: undefined filter: nope/);
  });
});

describe("email HTML", () => {
  it("tracks http(s) links only", () => {
    const html = '<a href="https://shop.test/a?x=1&amp;y=2">A</a> <a href="mailto:x@y.test">M</a> <a class="b" href=\'http://b.test\'>B</a>';
    const out = rewriteLinks(html, (url) => `https://t.test/c?u=${encodeURIComponent(url)}`);
    expect(out).toContain(`href="https://t.test/c?u=${encodeURIComponent("https://shop.test/a?x=1&y=2")}"`);
    expect(out).toContain('href="mailto:x@y.test"');
    expect(out).toContain(`href='https://t.test/c?u=${encodeURIComponent("http://b.test")}'`);
  });

  it("adds the pixel inside the body and derives text", () => {
    expect(appendOpenPixel("<html><body><p>x</p></body></html>", "https://t.test/o")).toMatch(/<p>x<\/p><img src="https:\/\/t.test\/o"[^>]*\/><\/body>/);
    expect(htmlToText("<h1>Hi</h1><p>a &amp; b<br>c</p><style>p{}</style>")).toBe("Hi\na & b\nc");
  });

  it("makes header values one line", () => {
    expect(singleLine("a\r\nb\u0000c\u2028d")).toBe("a b c d");
  });
});
