/**
 * Segments may ask about membership of other segments. Evaluation runs referenced segments first,
 * saves refuse cycles, and a rebuilt segment rebuilds the segments that read it.
 */
import { referencedSegments, type Condition } from "@nurture/core";

interface Node {
  id: string;
  condition: Condition;
}

/** Referenced segments before the segments that read them; null when there is a cycle. */
export function dependencyOrder<T extends Node>(segments: readonly T[]): T[] | null {
  const byId = new Map(segments.map((s) => [s.id, s]));
  const state = new Map<string, "visiting" | "done">();
  const order: T[] = [];
  const visit = (s: T): boolean => {
    const seen = state.get(s.id);
    if (seen === "done") return true;
    if (seen === "visiting") return false;
    state.set(s.id, "visiting");
    for (const ref of referencedSegments(s.condition)) {
      const dep = byId.get(ref);
      if (dep && !visit(dep)) return false;
    }
    state.set(s.id, "done");
    order.push(s);
    return true;
  };
  for (const s of segments) if (!visit(s)) return null;
  return order;
}

/** The segments that read `id`, directly or through others, in the order to rebuild them. */
export function dependentsOf<T extends Node>(segments: readonly T[], id: string): T[] {
  const affected = new Set([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of segments) {
      if (affected.has(s.id)) continue;
      if (referencedSegments(s.condition).some((r) => affected.has(r))) {
        affected.add(s.id);
        grew = true;
      }
    }
  }
  affected.delete(id);
  return (dependencyOrder(segments) ?? []).filter((s) => affected.has(s.id));
}
