-- Campaigns (auto-messages): a trigger, an optional audience, a repetition policy, an optional goal,
-- and one or more steps, each with its own wait, condition, channel and content.
CREATE TABLE campaigns (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id     uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description    text,
  status         text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'archived')),
  trigger        jsonb NOT NULL,
  -- Timeline event names that can fire the trigger: the pipeline loads only campaigns a run can reach.
  trigger_events text[] NOT NULL,
  audience       jsonb,
  repeat         jsonb NOT NULL,
  goal           jsonb,
  -- The goal event name, for finding the campaigns a goal event converts without reading every goal.
  goal_event     text,
  version        integer NOT NULL DEFAULT 1,
  activated_at   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_project ON campaigns (project_id, created_at DESC);
CREATE INDEX campaigns_active ON campaigns (project_id) WHERE status = 'active';
CREATE INDEX campaigns_goal_event ON campaigns (project_id, goal_event) WHERE goal_event IS NOT NULL;

-- Steps keep their id across edits, so the ledger's "one message per step per user" survives an
-- edit of an active campaign. A step removed from the campaign keeps its row (position NULL) for
-- history and statistics.
CREATE TABLE campaign_steps (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  position    integer CHECK (position >= 0),
  delay       jsonb,
  delay_ms    bigint NOT NULL DEFAULT 0 CHECK (delay_ms >= 0),
  condition   jsonb,
  channel     text NOT NULL CHECK (channel IN ('email', 'popup', 'chat', 'webhook')),
  content     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX campaign_steps_position ON campaign_steps (campaign_id, position) WHERE position IS NOT NULL;
