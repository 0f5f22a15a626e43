-- A delivery now holds one transaction from its last checks until its outcome is recorded: the
-- ledger row's lock is the claim, and a crashed worker's claim rolls back with its connection.
-- The lease columns are no longer written. They stay for one release, so that workers of the
-- previous version can run beside new ones during a rolling deploy (new workers still respect an
-- unexpired lease); a later migration drops them.
COMMENT ON COLUMN messages.claim_token IS 'unused since deliveries hold a transaction; dropped in a later release';
COMMENT ON COLUMN messages.claimed_until IS 'unused since deliveries hold a transaction; dropped in a later release';
