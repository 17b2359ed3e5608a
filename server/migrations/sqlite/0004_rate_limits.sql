-- passcode-server schema, version 4 (SQLite): Verify rate limits and their
-- buckets. What a bucket has taken is a state (compare-and-set), keyed by
-- the bucket and a hash of the value limited, never the value.

CREATE TABLE verify_rate_limits (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    sid         TEXT    NOT NULL UNIQUE,
    app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    service_sid TEXT    NOT NULL REFERENCES verify_services(sid) ON DELETE CASCADE,
    unique_name TEXT    NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (service_sid, unique_name)
);

CREATE TABLE verify_buckets (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    sid              TEXT    NOT NULL UNIQUE,
    app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    rate_limit_seq   INTEGER NOT NULL REFERENCES verify_rate_limits(seq) ON DELETE CASCADE,
    max_count        INTEGER NOT NULL,
    interval_seconds INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (rate_limit_seq, interval_seconds)
);
