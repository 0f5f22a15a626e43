-- Goal conversions: a goal event credited to the latest message of a campaign sent within the goal
-- window before it. One credit per (campaign, goal event), so a re-processed event never counts twice.
CREATE TABLE message_conversions (
  id          bigserial PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  message_id  bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  step_id     uuid NOT NULL,
  user_id     bigint NOT NULL,
  event_id    bigint NOT NULL,
  revenue     numeric NOT NULL DEFAULT 0,
  occurred_at timestamptz NOT NULL,
  CONSTRAINT message_conversions_once UNIQUE (campaign_id, event_id)
);
CREATE INDEX message_conversions_message ON message_conversions (message_id);
