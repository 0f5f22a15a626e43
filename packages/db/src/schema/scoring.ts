import type { ColumnType, Generated, Selectable } from "kysely";

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type JsonValue<T> = ColumnType<T, T | string, T | string>;

export interface ScoringRulesTable {
  id: Generated<string>;
  project_id: string;
  name: string;
  event_name: string;
  filter: ColumnType<unknown[] | null, string | null | undefined, string | null>;
  points: number;
  limit_type: ColumnType<string, string | undefined, string>;
  limit_times: number | null;
  expires_after_days: number | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  preset: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  deleted_at: NullableTimestamp;
}

export interface ScoreLedgerTable {
  id: Generated<number>;
  project_id: string;
  user_id: number;
  kind: "award" | "expiry";
  rule_id: string;
  event_id: number;
  event_name: string;
  delta: number;
  score_after: number;
  effective_at: Timestamp;
  expires_at: NullableTimestamp;
  expired_at: NullableTimestamp;
  created_at: CreatedAt;
}

export interface GradeModelsTable {
  project_id: string;
  model: JsonValue<Record<string, unknown>>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ScoringJobsTable {
  id: Generated<string>;
  project_id: string;
  task: string;
  status: ColumnType<string, string | undefined, string>;
  total: ColumnType<number, number | undefined, number>;
  done: ColumnType<number, number | undefined, number>;
  changed: ColumnType<number, number | undefined, number>;
  cursor: ColumnType<number, number | undefined, number>;
  error: string | null;
  created_at: CreatedAt;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

export interface ValueAnalysesTable {
  id: Generated<string>;
  project_id: string;
  params: JsonValue<Record<string, unknown>>;
  result: JsonValue<Record<string, unknown>>;
  stored: boolean;
  created_at: CreatedAt;
}

export interface ScoringTables {
  scoring_rules: ScoringRulesTable;
  score_ledger: ScoreLedgerTable;
  grade_models: GradeModelsTable;
  scoring_jobs: ScoringJobsTable;
  value_analyses: ValueAnalysesTable;
}

export type ScoringRuleRow = Selectable<ScoringRulesTable>;
export type ScoreLedgerRow = Selectable<ScoreLedgerTable>;
export type ScoringJobRow = Selectable<ScoringJobsTable>;
