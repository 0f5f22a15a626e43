-- The message ledger: one row per campaign step per user per send window. The UNIQUE key below is
-- what makes "exactly one message per campaign step per user" true whatever the retries, duplicate
-- triggers or number of workers: the pipeline inserts with ON CONFLICT DO NOTHING, and a worker
-- claims the row (status 'queued' → 'sending') before anything goes out.
CREATE TABLE messages (
  id             bigserial PRIMARY KEY,
  project_id     uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  campaign_id    uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  step_id        uuid NOT NULL REFERENCES campaign_steps(id) ON DELETE CASCADE,
  -- The step's place in the series when the message was created (0 starts a series).
  step_index     integer NOT NULL,
  -- No foreign key: when an anonymous card merges into a known one the pipeline moves these rows.
  user_id        bigint NOT NULL,
  -- "once", or the repetition window of a repeating campaign; shared by the steps of one series.
  window_key     text NOT NULL,
  -- The id of the series' first message (itself for the first).
  series_id      bigint NOT NULL,
  channel        text NOT NULL CHECK (channel IN ('email', 'popup', 'chat', 'webhook')),
  -- queued → sending → sent, or cancelled / held / skipped / failed (with reason).
  status         text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'sending', 'sent', 'cancelled', 'held', 'skipped', 'failed')),
  reason         text,
  -- What fired it: {name, properties, occurredAt, eventId?}.
  trigger        jsonb NOT NULL DEFAULT '{}'::jsonb,
  scheduled_for  timestamptz NOT NULL,
  attempts       integer NOT NULL DEFAULT 0,
  -- The worker holding the send, and until when; another worker may take over only after that.
  claim_token    text,
  claimed_until  timestamptz,
  recipient      text,
  -- The rendered content (subject/body, popup fields, chat text) as sent.
  content        jsonb,
  created_at     timestamptz NOT NULL,
  sent_at        timestamptz,
  delivered_at   timestamptz,
  opened_at      timestamptz,
  clicked_at     timestamptz,
  replied_at     timestamptz,
  dismissed_at   timestamptz,
  unsubscribed_at timestamptz,
  converted_at   timestamptz,
  finished_at    timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_once UNIQUE (campaign_id, step_id, user_id, window_key)
);
CREATE INDEX messages_user ON messages (user_id, created_at DESC);
CREATE INDEX messages_campaign_user ON messages (campaign_id, user_id, step_index);
CREATE INDEX messages_campaign_created ON messages (campaign_id, created_at);
CREATE INDEX messages_series ON messages (series_id);
-- Queued messages whose job may have been lost (Redis outage) are found here by the sweeper.
CREATE INDEX messages_queued ON messages (scheduled_for) WHERE status IN ('queued', 'sending');
