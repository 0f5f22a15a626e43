-- A pipeline run reads its user's unprocessed events, oldest first. With the unprocessed events
-- indexed by receipt time only, that read went through every unprocessed event of every user and
-- kept this user's: the larger a backlog, the slower each run that works it off. Indexed by user,
-- a run reads only its own. The sweeper's look for old unprocessed events (by received_at) reads
-- the same small partial index whole, which is what it did before.
-- The build reads the events table once and holds writes to it meanwhile: on a large installation,
-- apply it at a quiet time (npm run migrate) before rolling out the new version.
CREATE INDEX events_unprocessed_user ON events (user_id, occurred_at, id) WHERE processed_at IS NULL;
DROP INDEX events_unprocessed;
