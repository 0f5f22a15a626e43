import type { ColumnType, Generated, Selectable } from "kysely";

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, T | string, T | string>;

export interface SegmentsTable {
  id: Generated<string>;
  project_id: string;
  name: string;
  description: string | null;
  condition: Json<unknown>;
  version: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface SegmentMembersTable {
  segment_id: string;
  user_id: number;
  project_id: string;
  entered_at: Timestamp;
  entry_recorded: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface EventCountersTable {
  project_id: string;
  key: string;
  event_name: string;
  filter: ColumnType<unknown[] | null, string | null | undefined, string | null>;
  window_days: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
}

export interface EventCounterOwnersTable {
  project_id: string;
  key: string;
  owner: string;
  window_days: ColumnType<number, number | undefined, number>;
}

export interface UserCountersTable {
  user_id: number;
  counter_key: string;
  project_id: string;
  total: number;
  first_at: Timestamp;
  last_at: Timestamp;
}

export interface UserCounterDaysTable {
  user_id: number;
  counter_key: string;
  /** A UTC calendar day; read as "YYYY-MM-DD" text (the compiler casts, see counters.repository). */
  day: ColumnType<Date | string, string, string>;
  project_id: string;
  count: number;
}

export interface SegmentTasksTable {
  id: Generated<string>;
  project_id: string;
  kind: "segment-followup" | "lifecycle-backfill";
  segment_id: string | null;
  as_of: Timestamp;
  cursor: ColumnType<number, number | undefined, number>;
  status: ColumnType<"queued" | "running" | "done" | "failed", "queued" | "running" | "done" | "failed" | undefined, "queued" | "running" | "done" | "failed">;
  error: string | null;
  created_at: CreatedAt;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface SegmentsTables {
  segments: SegmentsTable;
  segment_members: SegmentMembersTable;
  event_counters: EventCountersTable;
  event_counter_owners: EventCounterOwnersTable;
  user_counters: UserCountersTable;
  user_counter_days: UserCounterDaysTable;
  segment_tasks: SegmentTasksTable;
}

export type SegmentRow = Selectable<SegmentsTable>;
export type SegmentTaskRow = Selectable<SegmentTasksTable>;
