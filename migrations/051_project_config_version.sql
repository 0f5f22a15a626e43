-- The pipeline runs the rule engine for every user with new events, while the rules themselves
-- (scoring rules, grade model, counters, segments, campaigns) change rarely. Every change to them
-- bumps the project's config_version in the same transaction, so a worker may keep the rules it
-- has read for as long as the project row it reads shows the same version.
ALTER TABLE projects ADD COLUMN config_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION bump_project_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE projects SET config_version = config_version + 1
   WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.project_id ELSE NEW.project_id END;
  RETURN NULL;
END
$$;

CREATE TRIGGER bump_config_version AFTER INSERT OR UPDATE OR DELETE ON scoring_rules FOR EACH ROW EXECUTE FUNCTION bump_project_config_version();
CREATE TRIGGER bump_config_version AFTER INSERT OR UPDATE OR DELETE ON grade_models FOR EACH ROW EXECUTE FUNCTION bump_project_config_version();
CREATE TRIGGER bump_config_version AFTER INSERT OR UPDATE OR DELETE ON event_counters FOR EACH ROW EXECUTE FUNCTION bump_project_config_version();
CREATE TRIGGER bump_config_version AFTER INSERT OR UPDATE OR DELETE ON segments FOR EACH ROW EXECUTE FUNCTION bump_project_config_version();
CREATE TRIGGER bump_config_version AFTER INSERT OR UPDATE OR DELETE ON campaigns FOR EACH ROW EXECUTE FUNCTION bump_project_config_version();
CREATE TRIGGER bump_config_version AFTER INSERT OR UPDATE OR DELETE ON campaign_steps FOR EACH ROW EXECUTE FUNCTION bump_project_config_version();
