import fc from "fast-check";

/** Characters that break naive code: NUL, unpaired surrogates, bidi overrides, line separators, combining marks. */
const oddChar = fc.oneof(
  fc.constantFrom("\u0000", "\ud800", "\udfff", "\u202e", "\u200b", "\ufeff", "\r", "\n", "\u2028", "\u0301", "🙂", "\\", '"', "%", "{", "}"),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);

export const hostileString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: oddChar, maxLength: 20 }),
  fc.constantFrom("", " ", "{{ user.email }}", "{% raw %}", "<script>alert(1)</script>", "x\r\nBcc: victim@example.com", "a@evil.example", "%00", "null", "1e400", "x".repeat(10_000)),
);

/** Keys aimed at prototypes, at our own schema, and at anything that treats keys specially. */
export const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "$where", "$set", "polluted", "userId", "anonymousId", "event", "type", "traits", "properties", "context", "ops", "batch", "messageId", "timestamp", "writeKey", "0", "-1", "length"),
  hostileString,
);

/** Tokens JSON.stringify cannot produce; spliced into the text afterwards (see `toHostileText`). */
const RAW = ["1e400", "-1e400", "123456789012345678901234567890", "-0", "1e-400", "0.1e1", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"] as const;
const rawToken = fc.integer({ min: 0, max: RAW.length }).map((i) => `\u0001RAW${i}`);

export const hostileScalar = fc.oneof(
  hostileString,
  rawToken,
  fc.constantFrom(null, true, false, 0, -0, 1, -1, Number.MAX_SAFE_INTEGER + 2, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e21),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Any JSON value, up to a few levels deep, built from the pieces above. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, hostileScalar, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 5 }),
  object: fc.dictionary(hostileKey, tie("value"), { maxKeys: 6 }),
})).value;

export const hostileObject = fc.dictionary(hostileKey, hostileValue, { maxKeys: 6 });

/** Deeply nested JSON text: as an array chain or an object chain. */
export const deepNesting = fc.tuple(fc.integer({ min: 50, max: 4_000 }), fc.boolean()).map(([n, arrays]) => (arrays ? `${"[".repeat(n)}1${"]".repeat(n)}` : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`));

/** JSON text from a generated value, with the raw tokens spliced in. */
export function toHostileText(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001RAW(\d+)"/g, (_, i: string) => RAW[Number(i)] ?? "1e400");
}

const TYPES = ["track", "page", "screen", "identify", "alias", "group"] as const;

/** Short enough for id and name fields (≤ 200), so messages get past validation; the cut may leave a lone surrogate. */
const shortString = hostileString.map((x) => x.slice(0, 200)).filter((x) => x.length > 0);
const id = fc.oneof({ weight: 3, arbitrary: fc.constantFrom("anon-1", "anon-2", "user-1", "user-2") }, { weight: 1, arbitrary: shortString }, { weight: 1, arbitrary: fc.integer() });
/** Plausible dates, and the ends of the calendar (with sentAt, skew correction can push them further). */
const isoDate = fc.oneof(
  fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2026-01-01", "2026-02-30", "2026-01-01T00:00:00+14:00", "2026-01-01T00:00:00+99:99", "2026-01-01T00:00:00.123456789Z"),
);

/** A valid-looking message of each type with hostile content where Segment allows anything. */
const plausibleMessage = fc
  .record(
    {
      type: fc.constantFrom(...TYPES),
      userId: id,
      anonymousId: id,
      previousId: id,
      groupId: id,
      event: fc.oneof(fc.constantFrom("clicked", "$page", "__proto__", "constructor"), shortString),
      name: shortString,
      category: shortString,
      messageId: fc.oneof(fc.uuid(), shortString),
      timestamp: isoDate,
      sentAt: isoDate,
      properties: hostileObject,
      traits: hostileObject,
      context: hostileObject,
      ops: fc.array(fc.record({ op: fc.constantFrom("set", "set_once", "unset", "increment", "append", "union", "remove"), key: shortString, value: hostileValue }), { maxLength: 4 }),
    },
    { requiredKeys: ["type", "anonymousId", "userId", "previousId", "groupId", "event"] },
  )
  // Now and then one field gets a value of the wrong kind.
  .chain((m) => fc.option(fc.tuple(fc.constantFrom(...Object.keys(m)), hostileValue), { freq: 5 }).map((swap) => (swap ? { ...m, [swap[0]]: swap[1] } : m)));

/** Messages: mostly plausible (they reach storage), some entirely random. */
export const hostileMessage = fc.oneof({ weight: 5, arbitrary: plausibleMessage }, { weight: 1, arbitrary: hostileObject });

export const hostileBatch = fc.oneof(
  { weight: 5, arbitrary: fc.record({ batch: fc.array(plausibleMessage, { minLength: 1, maxLength: 6 }), context: hostileObject, sentAt: isoDate }, { requiredKeys: ["batch"] }) },
  { weight: 1, arbitrary: fc.record({ batch: fc.oneof(fc.array(hostileMessage, { maxLength: 6 }), hostileValue), context: hostileValue, sentAt: hostileString }, { requiredKeys: [] }) },
);
