-- Idempotency-Key records, as in the SQLite backend's migration 0005: a
-- retried POST gets the first answer instead of writing again. Inserted in
-- the transaction of the write they answer, so that after a crash the write
-- and its record exist together or not at all. Answers never hold a secret;
-- rows expire after 24 hours and are purged.
CREATE TABLE idempotency (
    scope       TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    created     BIGINT NOT NULL,
    expires     BIGINT NOT NULL,
    revision    BIGINT,
    status      INTEGER,
    headers     TEXT,
    body        BYTEA,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expires ON idempotency (expires);
