-- Idempotency-Key records: a retried POST gets the first answer instead of
-- writing again. Inserted in the transaction of the write they answer, so
-- that after a crash the write and its record exist together or not at all.
-- Answers never hold a secret; rows expire after 24 hours and are purged.
CREATE TABLE idempotency (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    expires     INTEGER NOT NULL,
    revision    INTEGER,
    status      INTEGER,
    headers     TEXT,
    body        BLOB,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_expires ON idempotency (expires);
