import { describe, expect, it } from "vitest";
import { planIdentities, type IdentitySnapshot } from "./identity-plan";

const empty = (): IdentitySnapshot => ({ byUserId: new Map(), byAnonymousId: new Map() });

describe("identity resolution", () => {
  it("creates one anonymous card per new visitor and reuses it", () => {
    const plan = planIdentities(
      [
        { type: "page", anonymousId: "a1" },
        { type: "track", anonymousId: "a1" },
        { type: "page", anonymousId: "a2" },
      ],
      empty(),
    );
    expect(plan.created).toEqual([{ userId: null }, { userId: null }]);
    expect(plan.messageCards).toEqual([{ created: 0 }, { created: 0 }, { created: 1 }]);
  });

  it("turns an anonymous card into a known one on identify", () => {
    const snapshot = empty();
    snapshot.byAnonymousId.set("a1", { id: 7, userId: null });
    const plan = planIdentities([{ type: "identify", userId: "ann", anonymousId: "a1" }], snapshot);
    expect(plan.renamed).toEqual([{ id: 7, userId: "ann" }]);
    expect(plan.messageCards).toEqual([{ existing: 7 }]);
    expect(plan.merges).toEqual([]);
  });

  it("merges a second device's anonymous card into the known user", () => {
    const snapshot = empty();
    snapshot.byUserId.set("ann", { id: 7, userId: "ann" });
    snapshot.byAnonymousId.set("phone", { id: 9, userId: null });
    const plan = planIdentities(
      [
        { type: "page", anonymousId: "phone" },
        { type: "identify", userId: "ann", anonymousId: "phone" },
        { type: "page", anonymousId: "phone" },
      ],
      snapshot,
    );
    expect(plan.merges).toEqual([{ from: 9, into: 7 }]);
    expect(plan.messageCards).toEqual([{ existing: 7 }, { existing: 7 }, { existing: 7 }]);
  });

  it("never merges two known users", () => {
    const snapshot = empty();
    snapshot.byUserId.set("ann", { id: 7, userId: "ann" });
    snapshot.byAnonymousId.set("shared", { id: 8, userId: "bob" });
    const plan = planIdentities([{ type: "identify", userId: "ann", anonymousId: "shared" }], snapshot);
    expect(plan.merges).toEqual([]);
    expect(plan.messageCards).toEqual([{ existing: 7 }]);
  });

  it("gives a new known user a card of their own when the device belonged to someone else", () => {
    const snapshot = empty();
    snapshot.byAnonymousId.set("shared", { id: 8, userId: "bob" });
    const plan = planIdentities([{ type: "identify", userId: "cat", anonymousId: "shared" }], snapshot);
    expect(plan.created).toEqual([{ userId: "cat" }]);
    expect(plan.renamed).toEqual([]);
  });

  it("links an anonymous id first seen together with its user in the same batch", () => {
    const plan = planIdentities(
      [
        { type: "page", anonymousId: "a1" },
        { type: "identify", userId: "ann", anonymousId: "a1" },
        { type: "track", userId: "ann" },
      ],
      empty(),
    );
    expect(plan.created).toEqual([{ userId: "ann" }]);
    expect(plan.messageCards).toEqual([{ created: 0 }, { created: 0 }, { created: 0 }]);
  });
});
