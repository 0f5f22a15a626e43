-- Ingestion creates the cards of visitors nobody has seen yet without taking the identity locks:
-- the unique keys of anonymous ids and user ids notice a concurrent batch that created the same
-- visitor first. An ingestion statement calls this with whether it lost such a race; it then
-- aborts the statement (nothing of it applies) with SQLSTATE 40001, and the batch is planned
-- again under the identity locks.
CREATE FUNCTION nurture_identity_race(lost boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF lost THEN
    RAISE EXCEPTION 'an identity this batch creates was created concurrently; plan again'
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN false;
END $$;
