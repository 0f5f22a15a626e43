-- Addresses never to be emailed again in a project: hard bounces (SMTP 5xx on the recipient) and
-- manual suppressions. Addresses are stored lower-cased.
CREATE TABLE email_suppressions (
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  address     text NOT NULL,
  reason      text NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'manual')),
  detail      text,
  message_id  bigint,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, address)
);

-- Every unsubscribe, with the message that carried the link (users.email_unsubscribed_at is the state).
CREATE TABLE email_unsubscribes (
  id          bigserial PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL,
  message_id  bigint REFERENCES messages(id) ON DELETE SET NULL,
  campaign_id uuid REFERENCES campaigns(id) ON DELETE SET NULL,
  source      text NOT NULL CHECK (source IN ('one_click', 'link', 'api')),
  created_at  timestamptz NOT NULL
);
CREATE INDEX email_unsubscribes_user ON email_unsubscribes (user_id);
