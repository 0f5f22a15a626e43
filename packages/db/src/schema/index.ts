import type { FoundationTables } from "./foundation";

/**
 * The whole database as kysely sees it. Each feature declares its tables in its own file
 * beside this one and adds them here.
 */
export type DB = FoundationTables;

export * from "./foundation";
