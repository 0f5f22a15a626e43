-- Project-wide scoring work started by a call (recompute scores, backfill grades), with progress the
-- API reports. `cursor` is the last user id done, so a retried job continues instead of restarting.
CREATE TABLE scoring_jobs (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  task        text NOT NULL CHECK (task IN ('recompute-scores', 'backfill-grades')),
  status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  total       integer NOT NULL DEFAULT 0,
  done        integer NOT NULL DEFAULT 0,
  changed     integer NOT NULL DEFAULT 0,
  cursor      bigint NOT NULL DEFAULT 0,
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  finished_at timestamptz
);
CREATE INDEX scoring_jobs_project ON scoring_jobs (project_id, created_at DESC);
-- At most one unfinished job per task and project: a second call joins the running one.
CREATE UNIQUE INDEX scoring_jobs_active ON scoring_jobs (project_id, task) WHERE status IN ('queued', 'running');
