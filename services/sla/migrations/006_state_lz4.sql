-- An instance's state (15 to 20 KiB of JSON) is written at every step and compressed by PostgreSQL as
-- it goes to TOAST. lz4 compresses it in about a third of pglz's CPU time (0.20 against 0.59 ms for an
-- upsert of a 19 KB state, one backend) to about the same size. Values stored before stay as they are
-- (pglz), readable as ever; each is rewritten with lz4 at its instance's next step. A server built
-- without lz4 (the embedded one of `make run`) keeps pglz.
DO $$
BEGIN
    ALTER TABLE sla.instances ALTER COLUMN state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: sla.instances.state stays compressed with pglz';
END
$$;
