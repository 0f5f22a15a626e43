-- Foundation: projects, users (cards), identities, events and per-event statistics.
-- Every table that holds tenant data carries project_id, and every query filters on it.

CREATE TABLE projects (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  write_key   text NOT NULL UNIQUE,
  -- Only a hash of the secret key is kept: a database dump does not hand out admin access.
  secret_key_hash text NOT NULL UNIQUE,
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  -- The site's own id for a known user; NULL while the visitor is anonymous.
  user_id       text,
  properties    jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Per property: when it was set and by which kind of operation, so merges honour set_once/increment/union.
  property_meta jsonb NOT NULL DEFAULT '{}'::jsonb,
  first_seen_at timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL,
  -- Derived by the rule engine (segments, scoring, lifecycle, channels); see later migrations.
  score            integer NOT NULL DEFAULT 0,
  grade            text,
  value_class      text,
  lifecycle_stage  text,
  email_unsubscribed_at timestamptz,
  -- The next instant a time-relative rule could change this user's state (segment, score expiry).
  next_tick_at     timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_project_user_id ON users (project_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX users_project_last_seen ON users (project_id, last_seen_at DESC, id DESC);
CREATE INDEX users_project_id ON users (project_id, id);
CREATE INDEX users_next_tick ON users (next_tick_at) WHERE next_tick_at IS NOT NULL;

-- Every anonymous id a browser/device used, pointing at the card it belongs to now.
CREATE TABLE anonymous_ids (
  project_id   uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  anonymous_id text NOT NULL,
  user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, anonymous_id)
);
CREATE INDEX anonymous_ids_user ON anonymous_ids (user_id);

-- The timeline: tracked events, page views, identifies and system events ($segment_entered, ...).
CREATE TABLE events (
  id           bigserial PRIMARY KEY,
  project_id   uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  message_id   text NOT NULL,
  type         text NOT NULL,
  name         text NOT NULL,
  properties   jsonb NOT NULL DEFAULT '{}'::jsonb,
  context      jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- When it happened (client time corrected for clock skew) and when we stored it.
  occurred_at  timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  -- NULL until the downstream pipeline (segments, scoring, triggers) has taken it into account.
  -- The partial index below doubles as the outbox: whatever is unprocessed gets (re)enqueued.
  processed_at timestamptz
);
CREATE UNIQUE INDEX events_project_message_id ON events (project_id, message_id);
CREATE INDEX events_user_time ON events (user_id, occurred_at DESC, id DESC);
CREATE INDEX events_project_name_time ON events (project_id, name, occurred_at);
CREATE INDEX events_unprocessed ON events (received_at) WHERE processed_at IS NULL;

-- Per user and event name: kept up to date at ingestion so segment conditions never scan raw events.
CREATE TABLE event_stats (
  project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  event_name text NOT NULL,
  count      bigint NOT NULL,
  first_at   timestamptz NOT NULL,
  last_at    timestamptz NOT NULL,
  PRIMARY KEY (user_id, event_name)
);
CREATE INDEX event_stats_project_name ON event_stats (project_id, event_name);
