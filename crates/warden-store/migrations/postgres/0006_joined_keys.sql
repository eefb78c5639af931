-- Keys that join names (an assignment's USER/ROLE, a SoD conflict's
-- USER/RULE) escape '%' as '%25' and '/' as '%2F' inside each name, so that
-- users 'kx' + role 'ka/kb' and user 'kx/ka' + role 'kb' no longer share the
-- key 'kx/ka/kb' (issue 13). Rows whose names hold neither keep their key;
-- the others get the key their body gives. Audit changes keep the keys they
-- were recorded with: they are hashed into the chain.
UPDATE objects
SET key = replace(replace(body::jsonb ->> 'user', '%', '%25'), '/', '%2F') || '/'
       || replace(replace(body::jsonb ->> 'role', '%', '%25'), '/', '%2F')
WHERE kind = 'assignment'
  AND body <> '{"hidden":true}'
  AND (strpos(key, '%') > 0 OR length(key) - length(replace(key, '/', '')) > 1);

UPDATE objects
SET key = replace(replace(body::jsonb ->> 'user', '%', '%25'), '/', '%2F') || '/'
       || replace(replace(body::jsonb ->> 'rule', '%', '%25'), '/', '%2F')
WHERE kind = 'sod_conflict'
  AND body <> '{"hidden":true}'
  AND (strpos(key, '%') > 0 OR length(key) - length(replace(key, '/', '')) > 1);
