-- "Why did (or didn't) this user get it?": every trigger that reached a campaign and every send
-- attempt leaves a decision with its outcome, reason and the audience / step condition traces.
CREATE TABLE message_decisions (
  id           bigserial PRIMARY KEY,
  project_id   uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  campaign_id  uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  step_id      uuid,
  message_id   bigint,
  -- No foreign key, as for messages: merges move these rows.
  user_id      bigint NOT NULL,
  stage        text NOT NULL CHECK (stage IN ('trigger', 'send')),
  outcome      text NOT NULL,
  reason       text,
  trigger      jsonb,
  traces       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL
);
CREATE INDEX message_decisions_user ON message_decisions (user_id, campaign_id, id DESC);
CREATE INDEX message_decisions_message ON message_decisions (message_id);
