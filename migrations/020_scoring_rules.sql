-- Lead scoring rules: an event (optionally filtered by its properties) is worth points, within a limit.
-- Rules are soft-deleted: the score history keeps naming the rule that awarded points, and a deleted
-- rule's points stand until the project's scores are recomputed.
CREATE TABLE scoring_rules (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  event_name  text NOT NULL CHECK (length(event_name) BETWEEN 1 AND 200),
  -- Event property filters (the segment condition language's filter leaves); NULL = every event.
  filter      jsonb,
  points      integer NOT NULL CHECK (points <> 0),
  limit_type  text NOT NULL DEFAULT 'none' CHECK (limit_type IN ('none', 'once_per_user', 'max_times', 'once_per_day')),
  limit_times integer CHECK (limit_times IS NULL OR limit_times > 0),
  expires_after_days integer CHECK (expires_after_days IS NULL OR expires_after_days > 0),
  enabled     boolean NOT NULL DEFAULT true,
  -- Key of a rule loaded from the default set, so loading the set twice creates nothing new.
  preset      text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  CHECK ((limit_type = 'max_times') = (limit_times IS NOT NULL))
);
CREATE INDEX scoring_rules_project_event ON scoring_rules (project_id, event_name) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX scoring_rules_preset ON scoring_rules (project_id, preset) WHERE preset IS NOT NULL AND deleted_at IS NULL;
