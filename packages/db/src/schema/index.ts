import type { FoundationTables } from "./foundation";
import type { ScoringTables } from "./scoring";
import type { MessagingTables } from "./messaging";
import type { SegmentsTables } from "./segments";

/**
 * The whole database as kysely sees it. Each feature declares its tables in its own file
 * beside this one and adds them here.
 */
export type DB = FoundationTables & ScoringTables & MessagingTables & SegmentsTables;

export * from "./foundation";
export * from "./scoring";
export * from "./messaging";
export * from "./segments";
