-- The weighted criteria model that grades a profile (ability to pay); one per project.
CREATE TABLE grade_models (
  project_id uuid PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
  model      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
