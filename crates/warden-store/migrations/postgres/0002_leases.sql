-- Leases: which process does a job that only one replica may do at a time
-- (delivering webhook alerts), until when. A holder renews before expiry; a
-- lease that expired may be taken by anyone.
CREATE TABLE leases (
    name    TEXT   PRIMARY KEY,
    holder  TEXT   NOT NULL,
    expires BIGINT NOT NULL
);
