-- What recipients did with messages: opened, clicked (with the link), shown, dismissed, replied.
-- messages.*_at keep the first time of each; this keeps every occurrence.
CREATE TABLE message_events (
  id          bigserial PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  message_id  bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  type        text NOT NULL CHECK (type IN ('opened', 'clicked', 'shown', 'dismissed', 'replied', 'unsubscribed', 'bounced')),
  detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
  occurred_at timestamptz NOT NULL
);
CREATE INDEX message_events_message ON message_events (message_id, occurred_at);

-- The conversation on a card: chat messages sent by campaigns and the visitor's replies.
CREATE TABLE conversation_lines (
  id          bigserial PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL,
  message_id  bigint REFERENCES messages(id) ON DELETE SET NULL,
  direction   text NOT NULL CHECK (direction IN ('out', 'in')),
  author      text,
  text        text NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX conversation_lines_user ON conversation_lines (user_id, created_at);
