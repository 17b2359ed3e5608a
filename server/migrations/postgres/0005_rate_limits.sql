-- passcode-server schema, version 5 (PostgreSQL): Verify rate limits and their
-- buckets. What a bucket has taken is a state (compare-and-set), keyed by
-- the bucket and a hash of the value limited, never the value.

CREATE TABLE verify_rate_limits (
    seq         BIGSERIAL PRIMARY KEY,
    sid         TEXT    NOT NULL UNIQUE,
    app_id      BIGINT  NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    service_sid TEXT    NOT NULL REFERENCES verify_services(sid) ON DELETE CASCADE,
    unique_name TEXT    NOT NULL,
    description TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (service_sid, unique_name)
);

CREATE TABLE verify_buckets (
    seq              BIGSERIAL PRIMARY KEY,
    sid              TEXT    NOT NULL UNIQUE,
    app_id           BIGINT  NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    rate_limit_seq   BIGINT  NOT NULL REFERENCES verify_rate_limits(seq) ON DELETE CASCADE,
    max_count        BIGINT  NOT NULL,
    interval_seconds BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    UNIQUE (rate_limit_seq, interval_seconds)
);
