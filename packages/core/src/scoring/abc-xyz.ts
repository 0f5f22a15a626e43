import { z } from "zod";

/**
 * Customer value classes. Customers are ranked by revenue (ABC) and, separately, by number of
 * purchases (XYZ), highest first, ties by id ascending. A customer's class depends on the share of
 * the total held by the customers ranked strictly before it: under the first cut-off → A (X), under
 * the second → B (Y), else C (Z). So the top customers bringing the first ~80% are A — including
 * the one that crosses 80% — and a single customer holding 90% is A, not B. A total of 0 or less
 * puts everyone in C (Z). The backend's SQL implements exactly this.
 */
export type AbcClass = "A" | "B" | "C";
export type XyzClass = "X" | "Y" | "Z";
export type ValueClass = `${AbcClass}${XyzClass}`;

export const ABC_CLASSES: readonly AbcClass[] = ["A", "B", "C"];
export const XYZ_CLASSES: readonly XyzClass[] = ["X", "Y", "Z"];
export const VALUE_CLASSES: readonly ValueClass[] = ABC_CLASSES.flatMap((a) => XYZ_CLASSES.map((x) => `${a}${x}` as ValueClass));

/** Cumulative-share cut-offs in percent: [end of A, end of B] and [end of X, end of Y]. */
export interface AbcXyzCutoffs {
  abc: readonly [number, number];
  xyz: readonly [number, number];
}
export const DEFAULT_ABC_XYZ_CUTOFFS: AbcXyzCutoffs = { abc: [80, 95], xyz: [80, 95] };

const cutoffPair = z
  .tuple([z.number().gt(0).lt(100), z.number().gt(0).lt(100)])
  .refine(([a, b]) => a < b, { message: "the second cut-off must be greater than the first", path: [1] });
export const abcXyzCutoffsSchema = z.strictObject({ abc: cutoffPair, xyz: cutoffPair });

export interface CustomerTotals {
  id: number;
  revenue: number;
  purchases: number;
}
export interface ClassifiedCustomer extends CustomerTotals {
  abc: AbcClass;
  xyz: XyzClass;
}

function byShare<L extends string>(items: readonly CustomerTotals[], value: (c: CustomerTotals) => number, [first, second]: readonly [number, number], letters: readonly [L, L, L]): Map<number, L> {
  const ranked = [...items].sort((a, b) => value(b) - value(a) || a.id - b.id);
  const total = ranked.reduce((sum, c) => sum + value(c), 0);
  const classes = new Map<number, L>();
  let before = 0;
  for (const c of ranked) {
    // Compared as 100·before < cut-off·total so whole-number data is classified exactly.
    const letter = total <= 0 ? letters[2] : 100 * before < first * total ? letters[0] : 100 * before < second * total ? letters[1] : letters[2];
    classes.set(c.id, letter);
    before += value(c);
  }
  return classes;
}

export function classifyAbcXyz(customers: readonly CustomerTotals[], cutoffs: AbcXyzCutoffs = DEFAULT_ABC_XYZ_CUTOFFS): ClassifiedCustomer[] {
  const abc = byShare(customers, (c) => c.revenue, cutoffs.abc, ["A", "B", "C"] as const);
  const xyz = byShare(customers, (c) => c.purchases, cutoffs.xyz, ["X", "Y", "Z"] as const);
  return customers.map((c) => ({ ...c, abc: abc.get(c.id)!, xyz: xyz.get(c.id)! }));
}

export interface MatrixCell {
  customers: number;
  revenue: number;
  purchases: number;
}
export type AbcXyzMatrix = Record<ValueClass, MatrixCell>;

export function emptyMatrix(): AbcXyzMatrix {
  return Object.fromEntries(VALUE_CLASSES.map((c) => [c, { customers: 0, revenue: 0, purchases: 0 }])) as AbcXyzMatrix;
}

export function abcXyzMatrix(classified: readonly ClassifiedCustomer[]): AbcXyzMatrix {
  const matrix = emptyMatrix();
  for (const c of classified) {
    const cell = matrix[`${c.abc}${c.xyz}`];
    cell.customers += 1;
    cell.revenue += c.revenue;
    cell.purchases += c.purchases;
  }
  return matrix;
}
