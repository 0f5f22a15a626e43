import { describe, expect, it } from "vitest";
import { compileTemplate, renderTemplate, TemplateRenderError } from "./template";

const render = async (source: string, data: Record<string, unknown>, escaping: "html" | "none" = "none") => {
  const check = compileTemplate(source, escaping);
  if (!check.ok) throw new Error(check.problem.message);
  return renderTemplate(check.template, data);
};

describe("templates: parsing when a campaign is saved", () => {
  it.each([
    ["an unknown filter", "Hello\n  {{ user.name | shout }}", 2, 3, /undefined filter: shout/],
    ["an unclosed output", "Hi {{ user.name ", 1, 4, /not closed/],
    ["an unknown tag", "{% explode %}", 1, 1, /tag "explode" not found/],
    ["an include", "line one\n{% include 'secrets' %}", 2, 1, /include.*not available/],
    ["a render", "{% render '/etc/passwd' %}", 1, 1, /render.*not available/],
    ["a layout", "{% layout 'base' %}", 1, 1, /layout.*not available/],
  ])("refuses %s with its line and column", (_name, source, line, column, message) => {
    const check = compileTemplate(source);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problem).toMatchObject({ line, column });
    expect(check.problem.message).toMatch(message);
  });

  it("refuses a template over the length limit", () => {
    const check = compileTemplate("x".repeat(100_001));
    expect(check.ok).toBe(false);
  });
});

describe("templates: rendering", () => {
  it.each([
    ["a property", "Hi {{ user.name }}", { user: { name: "Ann" } }, "Hi Ann"],
    ["a default for a missing property", '{{ user.name | default: "friend" }}', { user: {} }, "friend"],
    ["the trigger event", "{{ event.properties.sku }}", { event: { properties: { sku: "A1" } } }, "A1"],
    ["a trait holding Liquid, as text", "{{ user.name }}", { user: { name: "{{ 7 | times: 6 }}{% include 'x' %}" } }, "{{ 7 | times: 6 }}{% include 'x' %}"],
    ["no prototype members", "[{{ user.constructor }}{{ user.__proto__ }}{{ user.toString }}]", { user: { name: "x" } }, "[]"],
  ])("renders %s", async (_name, source, data, expected) => {
    expect(await render(source, data)).toBe(expected);
  });

  it("escapes values in HTML bodies unless the author asks for raw", async () => {
    const data = { user: { name: "<script>alert(1)</script>" } };
    expect(await render("<p>{{ user.name }}</p>", data, "html")).toBe("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    expect(await render("{{ user.name | raw }}", data, "html")).toBe("<script>alert(1)</script>");
  });

  it("stops a runaway loop instead of hanging", async () => {
    await expect(render("{% for i in (1..100000000) %}{{ i }}{% endfor %}", {})).rejects.toBeInstanceOf(TemplateRenderError);
  });
});
