-- ABC/XYZ analyses that were run: their parameters and matrix, and whether the classes were stored on
-- users.value_class (the latest stored one is what the cards' value classes mean).
CREATE TABLE value_analyses (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  params      jsonb NOT NULL,
  result      jsonb NOT NULL,
  stored      boolean NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX value_analyses_project ON value_analyses (project_id, created_at DESC);
