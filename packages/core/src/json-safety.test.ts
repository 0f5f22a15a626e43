import { cleanJson, sanitizeJson } from "./json-safety";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** JSON as a request body parses to: any value, including keys that reach prototypes and numbers JSON.parse makes infinite. */
const parsedBody = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant(Number.POSITIVE_INFINITY),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "prototype")), tie("value"), { maxKeys: 4 }),
  ),
})).value;

const nested = (depth: number): unknown => (depth === 0 ? "deep" : { next: nested(depth - 1) });

describe("cleanJson", () => {
  it("returns what sanitizeJson returns, for any parsed body", () => {
    fc.assert(
      fc.property(parsedBody, (value) => {
        expect(cleanJson(value)).toStrictEqual(sanitizeJson(value));
      }),
    );
  });

  it("returns the body itself when it is clean, and a sanitized copy otherwise", () => {
    const clean = JSON.parse('{"sku":"A1","tags":["x"],"price":1.5}');
    expect(cleanJson(clean)).toBe(clean);
    const polluted = JSON.parse('{"constructor":{"prototype":{"x":1}},"ok":1,"huge":1e400}');
    expect(cleanJson(polluted)).toEqual({ ok: 1, huge: null });
    expect(cleanJson(nested(40))).toStrictEqual(sanitizeJson(nested(40)));
  });
});
