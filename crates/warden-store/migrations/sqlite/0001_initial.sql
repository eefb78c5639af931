-- Objects are JSON documents keyed by kind and key: the model changes shape more
-- often than the access pattern (load everything, or one object, or one kind).
-- WITHOUT ROWID: rows live in the primary-key B-tree itself, so a bulk import
-- maintains one B-tree per table instead of two.
CREATE TABLE objects (
    kind     TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    body     TEXT    NOT NULL,
    -- Per object: 1 when created, +1 for each commit that changes it.
    version  INTEGER NOT NULL,
    -- The revision of the commit that last wrote the object.
    revision INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

-- One row: the store's revision and the head of the audit chain. New events chain
-- from this head rather than from the last row of audit_events, so that removing
-- events from the end cannot go unnoticed by the next commit.
CREATE TABLE meta (
    singleton  INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    revision   INTEGER NOT NULL,
    audit_seq  INTEGER NOT NULL,
    audit_hash TEXT    NOT NULL
);
INSERT INTO meta (singleton, revision, audit_seq, audit_hash)
VALUES (1, 0, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Integrity comes from the hash chain, not from constraints: there is deliberately
-- no foreign key between the two audit tables, so that tampering is detected by
-- verification instead of being merely refused by one database.
CREATE TABLE audit_events (
    seq          INTEGER NOT NULL PRIMARY KEY,
    revision     INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    summary      TEXT    NOT NULL,
    change_count INTEGER NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

CREATE TABLE audit_changes (
    seq    INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    kind   TEXT    NOT NULL,
    key    TEXT    NOT NULL,
    before TEXT,
    after  TEXT,
    PRIMARY KEY (seq, idx)
) WITHOUT ROWID;
CREATE INDEX audit_changes_object ON audit_changes (kind, key, seq);
