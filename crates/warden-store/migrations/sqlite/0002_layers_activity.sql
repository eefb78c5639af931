-- Layers: every object row belongs to the code layer (deployable objects loaded by
-- `import aot`) or the database layer (what administrators change). For each key
-- the database row wins; a database row whose body is {"hidden":true} hides the
-- code object. The key order (kind, layer, key) lets a layer be scanned in key
-- order and one key's rows of both layers be found with two seeks.
CREATE TABLE objects_layered (
    kind     TEXT    NOT NULL,
    layer    TEXT    NOT NULL CHECK (layer IN ('code', 'database')),
    key      TEXT    NOT NULL,
    body     TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (kind, layer, key)
) WITHOUT ROWID;
-- Stores from before layers held security objects only from AOT imports, so
-- those become the code layer; everything else is data.
INSERT INTO objects_layered (kind, layer, key, body, version, revision)
SELECT kind,
       CASE WHEN kind IN ('entry_point', 'privilege', 'duty', 'role', 'role_extension',
                          'duty_extension', 'policy') THEN 'code' ELSE 'database' END,
       key, body, version, revision
FROM objects;
DROP TABLE objects;
ALTER TABLE objects_layered RENAME TO objects;

-- Where each administrative action came from; '' marks events written before
-- origins existed (hash-chain version 1).
ALTER TABLE audit_events ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_changes ADD COLUMN layer TEXT NOT NULL DEFAULT 'database';

-- Sign-ins, sign-outs, failed sign-ins and application activity. Not chained:
-- applications report these at rates no administrative action reaches.
CREATE TABLE activity (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    user   TEXT    NOT NULL,
    kind   TEXT    NOT NULL,
    source TEXT,
    detail TEXT    NOT NULL
);
CREATE INDEX activity_user ON activity (user, id);
CREATE INDEX activity_at ON activity (at);
