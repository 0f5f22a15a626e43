import type { ColumnType, Generated, Selectable } from "kysely";

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, T | string, T | string>;
type NullableJson<T> = ColumnType<T | null, T | string | null | undefined, T | string | null>;

export interface CampaignsTable {
  id: Generated<string>;
  project_id: string;
  name: string;
  description: string | null;
  status: ColumnType<string, string | undefined, string>;
  trigger: Json<Record<string, unknown>>;
  trigger_events: string[];
  audience: NullableJson<unknown>;
  repeat: Json<Record<string, unknown>>;
  goal: NullableJson<Record<string, unknown>>;
  goal_event: string | null;
  version: ColumnType<number, number | undefined, number>;
  activated_at: NullableTimestamp;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface CampaignStepsTable {
  id: Generated<string>;
  project_id: string;
  campaign_id: string;
  position: number | null;
  delay: NullableJson<Record<string, unknown>>;
  delay_ms: ColumnType<number, number | undefined, number>;
  condition: NullableJson<unknown>;
  channel: string;
  content: Json<Record<string, unknown>>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface MessagesTable {
  id: Generated<number>;
  project_id: string;
  campaign_id: string;
  step_id: string;
  step_index: number;
  user_id: number;
  window_key: string;
  series_id: number;
  channel: string;
  status: ColumnType<string, string | undefined, string>;
  reason: string | null;
  trigger: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  scheduled_for: Timestamp;
  attempts: ColumnType<number, number | undefined, number>;
  claim_token: string | null;
  claimed_until: NullableTimestamp;
  recipient: string | null;
  content: NullableJson<Record<string, unknown>>;
  created_at: Timestamp;
  sent_at: NullableTimestamp;
  delivered_at: NullableTimestamp;
  opened_at: NullableTimestamp;
  clicked_at: NullableTimestamp;
  replied_at: NullableTimestamp;
  dismissed_at: NullableTimestamp;
  unsubscribed_at: NullableTimestamp;
  converted_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface MessageDecisionsTable {
  id: Generated<number>;
  project_id: string;
  campaign_id: string;
  step_id: string | null;
  message_id: number | null;
  user_id: number;
  stage: "trigger" | "send";
  outcome: string;
  reason: string | null;
  trigger: NullableJson<Record<string, unknown>>;
  traces: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  created_at: Timestamp;
}

export interface EmailSuppressionsTable {
  project_id: string;
  address: string;
  reason: "hard_bounce" | "complaint" | "manual";
  detail: string | null;
  message_id: number | null;
  created_at: DefaultedTimestamp;
}

export interface EmailUnsubscribesTable {
  id: Generated<number>;
  project_id: string;
  user_id: number;
  message_id: number | null;
  campaign_id: string | null;
  source: "one_click" | "link" | "api";
  created_at: Timestamp;
}

export interface MessageEventsTable {
  id: Generated<number>;
  project_id: string;
  message_id: number;
  type: "opened" | "clicked" | "shown" | "dismissed" | "replied" | "unsubscribed" | "bounced";
  detail: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, Record<string, unknown> | string>;
  occurred_at: Timestamp;
}

export interface ConversationLinesTable {
  id: Generated<number>;
  project_id: string;
  user_id: number;
  message_id: number | null;
  direction: "out" | "in";
  author: string | null;
  text: string;
  created_at: Timestamp;
}

export interface MessageConversionsTable {
  id: Generated<number>;
  project_id: string;
  campaign_id: string;
  message_id: number;
  step_id: string;
  user_id: number;
  event_id: number;
  revenue: ColumnType<number, number | undefined, number>;
  occurred_at: Timestamp;
}

/** See migrations/052: an email handed to the SMTP server by an attempt that may not have recorded it. */
export interface MessageHandoversTable {
  message_id: number;
  handed_over_at: DefaultedTimestamp;
}

export interface MessagingTables {
  campaigns: CampaignsTable;
  campaign_steps: CampaignStepsTable;
  messages: MessagesTable;
  message_decisions: MessageDecisionsTable;
  email_suppressions: EmailSuppressionsTable;
  email_unsubscribes: EmailUnsubscribesTable;
  message_events: MessageEventsTable;
  conversation_lines: ConversationLinesTable;
  message_conversions: MessageConversionsTable;
  message_handovers: MessageHandoversTable;
}

export type CampaignRow = Selectable<CampaignsTable>;
export type CampaignStepRow = Selectable<CampaignStepsTable>;
export type MessageRow = Selectable<MessagesTable>;
export type MessageDecisionRow = Selectable<MessageDecisionsTable>;
