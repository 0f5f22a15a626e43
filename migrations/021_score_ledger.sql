-- Every change of a lead score: an award (a rule scored an event) or its expiry. users.score is the
-- sum of delta over a user's rows. One award per (rule, event) and one expiry per award: a redelivered
-- or re-processed event can never score twice, whatever the retries.
CREATE TABLE score_ledger (
  id           bigserial PRIMARY KEY,
  project_id   uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('award', 'expiry')),
  rule_id      uuid NOT NULL REFERENCES scoring_rules(id) ON DELETE CASCADE,
  -- No foreign key: events only go away with their user, and merges move them between users.
  event_id     bigint NOT NULL,
  event_name   text NOT NULL,
  delta        integer NOT NULL,
  -- The user's score right after this change.
  score_after  integer NOT NULL,
  -- When it took effect: the event's time for an award, the expiry instant for an expiry.
  effective_at timestamptz NOT NULL,
  -- Awards of expiring rules: when the points stop counting, and whether that has been applied.
  expires_at   timestamptz,
  expired_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX score_ledger_once ON score_ledger (rule_id, event_id, kind);
CREATE INDEX score_ledger_user ON score_ledger (user_id, id);
-- The score's next scheduled drop, per user.
CREATE INDEX score_ledger_pending_expiry ON score_ledger (user_id, expires_at)
  WHERE kind = 'award' AND expires_at IS NOT NULL AND expired_at IS NULL;
