-- passcode-server schema, version 6 (PostgreSQL).
-- A state names its owner: the application, and the user for a user's
-- states. Deleting either deletes its states through a foreign key, and no
-- state is found by a range of keys (which needed migration 0002's byte
-- order). `expires_at` (Unix seconds) is when a state stops deciding
-- anything, its absence deciding the same from then on, so the sweeper is
-- one statement; NULL: it lives as long as its owner.
ALTER TABLE states RENAME TO states_v5;
ALTER INDEX states_pkey RENAME TO states_v5_pkey;

CREATE TABLE states (
    key        TEXT COLLATE "C" PRIMARY KEY,
    app_id     BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id    BIGINT REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT,
    value      BYTEA  NOT NULL,
    version    BIGINT NOT NULL
);
CREATE INDEX states_app ON states (app_id);
CREATE INDEX states_user ON states (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX states_expiry ON states (expires_at) WHERE expires_at IS NOT NULL;

-- The owner, from the key: 'user:ID:...' and 'app:ID:...' name it; a QR
-- enrolment link ('qr:TOKEN') holds its user's id in its value's first
-- eight bytes, big-endian.
-- The lifetime: an SMS token ('user:ID:token'), a phone verification
-- ('app:ID:verification:...') and a QR link last 600 seconds, so a day
-- from the upgrade bounds them; a Verify rate-limit bucket's window ends
-- where its key says ('app:ID:bucket:SEQ:END:TAG'); a rate limit (a
-- number's, the sends', the exports', a factor's) is full again, deciding
-- what no state decides, at the arrival time its value holds: the library's
-- stable encoding of a RateLimitState is 27 bytes, 'P', kind 4, version 1,
-- the arrival time as a big-endian u128 in units of 1/unit seconds (bytes
-- 4 to 19), unit as a big-endian u32 (bytes 20 to 23) and a checksum.
-- Devices and factors stay until their owner goes.
-- A state whose owner is gone decided nothing any more: it is dropped.
WITH named AS (
    SELECT key, value, version,
           CASE
               WHEN key LIKE 'user:%' THEN 'user'
               WHEN key LIKE 'app:%' THEN 'app'
               WHEN key LIKE 'qr:%' THEN 'qr'
           END AS owner,
           split_part(key, ':', 2) AS id_text,
           split_part(key, ':', 3) AS kind
    FROM states_v5
), dated AS (
    SELECT key, value, version, owner,
           CASE
               WHEN owner = 'qr' AND length(value) >= 8
                   THEN ('x' || encode(substring(value FROM 1 FOR 8), 'hex'))::bit(64)::bigint
               WHEN owner IN ('user', 'app') AND id_text ~ '^[0-9]{1,19}$'
                   AND (length(id_text) < 19 OR id_text <= '9223372036854775807')
                   THEN id_text::bigint
           END AS id,
           CASE
               WHEN owner = 'qr' OR (owner = 'user' AND kind = 'token')
                   OR (owner = 'app' AND kind = 'verification')
                   THEN floor(extract(epoch FROM now()))::bigint + 86400
               WHEN owner = 'app' AND kind = 'bucket' AND split_part(key, ':', 5) ~ '^[0-9]{1,18}$'
                   THEN split_part(key, ':', 5)::bigint
               WHEN length(value) = 27 AND substring(value FROM 1 FOR 3) = '\x500401'::bytea
                   AND substring(value FROM 4 FOR 8) = '\x0000000000000000'::bytea
                   AND get_byte(value, 11) < 128
                   THEN CASE get_byte(value, 19)::bigint * 16777216 + get_byte(value, 20) * 65536
                             + get_byte(value, 21) * 256 + get_byte(value, 22)
                       WHEN 0 THEN 0
                       ELSE (('x' || encode(substring(value FROM 12 FOR 8), 'hex'))::bit(64)::bigint
                             + get_byte(value, 19)::bigint * 16777216 + get_byte(value, 20) * 65536
                             + get_byte(value, 21) * 256 + get_byte(value, 22) - 1)
                            / (get_byte(value, 19)::bigint * 16777216 + get_byte(value, 20) * 65536
                               + get_byte(value, 21) * 256 + get_byte(value, 22))
                   END
           END AS expires_at
    FROM named
)
INSERT INTO states (key, app_id, user_id, expires_at, value, version)
SELECT d.key, u.app_id, u.id, d.expires_at, d.value, d.version
FROM dated d JOIN users u ON u.id = d.id
WHERE d.owner IN ('user', 'qr')
UNION ALL
SELECT d.key, a.id, NULL, d.expires_at, d.value, d.version
FROM dated d JOIN apps a ON a.id = d.id
WHERE d.owner = 'app';

DROP TABLE states_v5;
