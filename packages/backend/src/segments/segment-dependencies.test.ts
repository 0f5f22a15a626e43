import { describe, expect, it } from "vitest";
import { dependencyOrder, dependentsOf } from "./segment-dependencies";

const seg = (id: string, ...refs: string[]) => ({ id, condition: { and: refs.map((r) => ({ segment: r })) } });

describe("segments that read other segments", () => {
  it("are evaluated after the segments they read", () => {
    const order = dependencyOrder([seg("c", "b"), seg("b", "a"), seg("a"), seg("d")]);
    expect(order?.map((s) => s.id)).toEqual(["a", "b", "c", "d"]);
  });

  it("may not form a cycle", () => {
    expect(dependencyOrder([seg("a", "b"), seg("b", "c"), seg("c", "a")])).toBeNull();
  });

  it("follow a rebuilt segment, directly and through others, in order", () => {
    const all = [seg("x"), seg("c", "b"), seg("b", "a"), seg("a"), seg("y", "x")];
    expect(dependentsOf(all, "a").map((s) => s.id)).toEqual(["b", "c"]);
  });
});
