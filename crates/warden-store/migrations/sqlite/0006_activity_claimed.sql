-- The time an application says an event happened, kept beside `at`, which is
-- now always the time Warden received it: recordings are cut by what the
-- server saw, so that a report cannot be back-dated into a closed window.
ALTER TABLE activity ADD COLUMN claimed_at INTEGER;
