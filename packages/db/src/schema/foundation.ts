import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

/** JSON columns are read as parsed values and written as objects. */
export type Json<T = Record<string, unknown>> = ColumnType<T, T | string, T | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface ProjectsTable {
  id: Generated<string>;
  name: string;
  write_key: string;
  secret_key_hash: string;
  settings: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  /** Bumped (by triggers) whenever the project's rules change; see migrations/051. */
  config_version: ColumnType<number, never, never>;
  created_at: CreatedAt;
}

export interface UsersTable {
  id: Generated<number>;
  project_id: string;
  user_id: string | null;
  properties: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  property_meta: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  score: ColumnType<number, number | undefined, number>;
  grade: string | null;
  value_class: string | null;
  lifecycle_stage: string | null;
  email_unsubscribed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  next_tick_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface AnonymousIdsTable {
  project_id: string;
  anonymous_id: string;
  user_id: number;
  created_at: CreatedAt;
}

export interface EventsTable {
  id: Generated<number>;
  project_id: string;
  user_id: number;
  message_id: string;
  type: string;
  name: string;
  properties: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  context: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  occurred_at: Timestamp;
  received_at: ColumnType<Date, Date | string | undefined, Date | string>;
  processed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface EventStatsTable {
  project_id: string;
  user_id: number;
  event_name: string;
  count: number;
  first_at: Timestamp;
  last_at: Timestamp;
}

export interface SchemaMigrationsTable {
  name: string;
  applied_at: CreatedAt;
}

export interface FoundationTables {
  projects: ProjectsTable;
  users: UsersTable;
  anonymous_ids: AnonymousIdsTable;
  events: EventsTable;
  event_stats: EventStatsTable;
  schema_migrations: SchemaMigrationsTable;
}

export type ProjectRow = Selectable<ProjectsTable>;
export type UserRow = Selectable<UsersTable>;
export type EventRow = Selectable<EventsTable>;
export type NewEvent = Insertable<EventsTable>;
