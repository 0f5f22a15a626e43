-- An email send records here, committed on a connection of its own, the instant before it writes
-- the final "." of the message to the SMTP server. If the sending worker dies after that and
-- before its transaction records the outcome, the next attempt finds the hand-over and does not
-- send a second copy (the server has most likely accepted the first); the message is recorded
-- with an unknown outcome instead.
-- No foreign key to messages: the sender's own transaction holds the message's row locked, and a
-- key check would wait for it.
CREATE TABLE message_handovers (
  message_id     bigint PRIMARY KEY,
  handed_over_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_handovers_age ON message_handovers (handed_over_at);
