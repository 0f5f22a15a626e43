-- Segments: saved conditions with stored membership, the counters their conditions read, and the
-- helpers the condition → SQL compiler uses so SQL answers exactly like the in-memory evaluator.

CREATE TABLE segments (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text CHECK (description IS NULL OR length(description) <= 2000),
  condition   jsonb NOT NULL,
  -- Bumped whenever the condition changes; cached compiled conditions and timeline ids key on it.
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX segments_project ON segments (project_id, created_at, id);
CREATE UNIQUE INDEX segments_project_name ON segments (project_id, lower(name));

CREATE TABLE segment_members (
  segment_id     uuid NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
  user_id        bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id     uuid NOT NULL,
  entered_at     timestamptz NOT NULL,
  -- False while a backfill's "$segment_entered" timeline event is still to be written (in the background,
  -- so creating a segment over a million users is not held up by a million timeline rows).
  entry_recorded boolean NOT NULL DEFAULT true,
  PRIMARY KEY (segment_id, user_id)
);
CREATE INDEX segment_members_user ON segment_members (user_id);
CREATE INDEX segment_members_unrecorded ON segment_members (segment_id, user_id) WHERE NOT entry_recorded;

-- Counters a condition needs beyond event_stats (a property filter, or a "last N days" window).
-- `key` is the core's counterKey(event, filter); owners are the segments (and other features) using it.
CREATE TABLE event_counters (
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key         text NOT NULL,
  event_name  text NOT NULL,
  filter      jsonb,
  -- The longest window asked of it; daily buckets older than that are dropped (0: totals only).
  window_days integer NOT NULL DEFAULT 0 CHECK (window_days >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, key)
);

CREATE TABLE event_counter_owners (
  project_id uuid NOT NULL,
  key        text NOT NULL,
  owner      text NOT NULL,
  window_days integer NOT NULL DEFAULT 0,
  PRIMARY KEY (project_id, key, owner),
  FOREIGN KEY (project_id, key) REFERENCES event_counters (project_id, key) ON DELETE CASCADE
);
CREATE INDEX event_counter_owners_owner ON event_counter_owners (project_id, owner);

-- Per user and counter: all-time total and first/last time (events the pipeline has processed).
CREATE TABLE user_counters (
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  counter_key text NOT NULL,
  project_id  uuid NOT NULL,
  total       bigint NOT NULL,
  first_at    timestamptz NOT NULL,
  last_at     timestamptz NOT NULL,
  PRIMARY KEY (user_id, counter_key)
);
CREATE INDEX user_counters_key ON user_counters (project_id, counter_key);

-- Per user, counter and UTC calendar day: how many, for windowed counts.
CREATE TABLE user_counter_days (
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  counter_key text NOT NULL,
  day         date NOT NULL,
  project_id  uuid NOT NULL,
  count       integer NOT NULL,
  PRIMARY KEY (user_id, counter_key, day)
);
CREATE INDEX user_counter_days_key ON user_counter_days (project_id, counter_key, day);

-- Background work a segment save or a lifecycle settings change leaves behind: timeline entries for
-- backfilled members and time ticks for users whose answer will change with time. `cursor` is the
-- last user id done, so a retried job continues where it stopped.
CREATE TABLE segment_tasks (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('segment-followup', 'lifecycle-backfill')),
  segment_id  uuid REFERENCES segments(id) ON DELETE CASCADE,
  -- The instant the backfill judged membership at: ticks are computed from it, never from a later clock.
  as_of       timestamptz NOT NULL,
  cursor      bigint NOT NULL DEFAULT 0,
  status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX segment_tasks_pending ON segment_tasks (project_id, created_at) WHERE status IN ('queued', 'running');

-- A property value as an instant, exactly as the core's parseIsoDate reads it: an ISO 8601 date or
-- date-time string with every field in range, no zone meaning UTC, fractions truncated to milliseconds.
-- Anything else (numbers, other text, 30 February) is NULL.
CREATE FUNCTION nurture_instant(v jsonb) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  m text[];
  y int; mo int; d int; h int; mi int; s int; ms int;
  off_minutes int := 0;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) <> 'string' THEN RETURN NULL; END IF;
  m := regexp_match(v #>> '{}', '^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$');
  IF m IS NULL THEN RETURN NULL; END IF;
  y := m[1]::int; mo := m[2]::int; d := m[3]::int;
  IF mo < 1 OR mo > 12 THEN RETURN NULL; END IF;
  IF d < 1 OR d > extract(day FROM make_date(y, mo, 1) + interval '1 month' - interval '1 day') THEN RETURN NULL; END IF;
  h := coalesce(m[4]::int, 0); mi := coalesce(m[5]::int, 0); s := coalesce(m[6]::int, 0);
  IF h > 23 OR mi > 59 OR s > 59 THEN RETURN NULL; END IF;
  ms := coalesce(rpad(left(m[7], 3), 3, '0')::int, 0);
  IF m[8] IS NOT NULL AND m[8] <> 'Z' THEN
    IF substr(m[8], 2, 2)::int > 23 OR substr(m[8], 5, 2)::int > 59 THEN RETURN NULL; END IF;
    off_minutes := (substr(m[8], 2, 2)::int * 60 + substr(m[8], 5, 2)::int) * (CASE WHEN left(m[8], 1) = '-' THEN -1 ELSE 1 END);
  END IF;
  RETURN (make_timestamp(y, mo, d, h, mi, s) AT TIME ZONE 'UTC') + make_interval(secs => ms / 1000.0) - make_interval(mins => off_minutes);
END
$$;
