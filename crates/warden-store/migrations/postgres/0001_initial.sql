-- The same schema as the SQLite backend's (after its migration 0002), so that
-- one conformance suite, tampering statements included, runs on both. Bodies
-- are TEXT, not JSONB: the audit chain hashes the exact stored text.
CREATE TABLE objects (
    kind     TEXT   NOT NULL,
    layer    TEXT   NOT NULL CHECK (layer IN ('code', 'database')),
    key      TEXT   NOT NULL,
    body     TEXT   NOT NULL,
    version  BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (kind, layer, key)
);

CREATE TABLE meta (
    singleton  INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    revision   BIGINT  NOT NULL,
    audit_seq  BIGINT  NOT NULL,
    audit_hash TEXT    NOT NULL
);
INSERT INTO meta (singleton, revision, audit_seq, audit_hash)
VALUES (1, 0, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- No foreign keys between the audit tables: tampering is to be detected by
-- verification, not merely refused by one database's constraints.
CREATE TABLE audit_events (
    seq          BIGINT NOT NULL PRIMARY KEY,
    revision     BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    actor        TEXT   NOT NULL,
    action       TEXT   NOT NULL,
    origin       TEXT   NOT NULL DEFAULT '',
    summary      TEXT   NOT NULL,
    change_count BIGINT NOT NULL,
    prev_hash    TEXT   NOT NULL,
    hash         TEXT   NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

CREATE TABLE audit_changes (
    seq    BIGINT NOT NULL,
    idx    BIGINT NOT NULL,
    kind   TEXT   NOT NULL,
    key    TEXT   NOT NULL,
    layer  TEXT   NOT NULL DEFAULT 'database',
    before TEXT,
    after  TEXT,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX audit_changes_object ON audit_changes (kind, key, seq);

CREATE TABLE activity (
    id     BIGSERIAL PRIMARY KEY,
    at     BIGINT NOT NULL,
    "user" TEXT   NOT NULL,
    kind   TEXT   NOT NULL,
    source TEXT,
    detail TEXT   NOT NULL
);
CREATE INDEX activity_user ON activity ("user", id);
CREATE INDEX activity_at ON activity (at);
