-- The time an application says an event happened, kept beside `at`, which is
-- now always the time Warden received it (as SQLite's migration 0006).
ALTER TABLE activity ADD COLUMN claimed_at BIGINT;
