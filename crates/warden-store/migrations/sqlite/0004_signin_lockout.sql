-- Failed sign-ins and the lockouts they cause, in the store so that every
-- replica and every restart sees the same count. A key is what the server
-- counts under: a user name or a client address. Failures older than the
-- window are pruned as new ones arrive.
CREATE TABLE sign_in_failures (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures (key, at);
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);

-- A key locked out until `locked_until` (milliseconds since the epoch).
CREATE TABLE sign_in_lockouts (
    key          TEXT    PRIMARY KEY,
    locked_until INTEGER NOT NULL
) WITHOUT ROWID;
