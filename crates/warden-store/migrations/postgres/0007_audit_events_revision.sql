-- Followers catch up with `changes_since`: the events after the revision they
-- hold, then those events' change rows (by seq, the primary key). Every commit
-- appends one event, so a follower a few commits behind reads a few index
-- entries instead of the whole trail.
CREATE INDEX audit_events_revision ON audit_events (revision);
