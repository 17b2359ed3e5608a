-- passcode-server schema, version 3 (PostgreSQL): the Twilio Verify v2 surface.

-- An application's account on the Verify surface: its SID, the SHA-256
-- of its auth token, and the token sealed under the master key, which signs
-- its webhooks (X-Twilio-Signature is keyed by the token). The sealed token
-- is written by the server at the token's first use, as the offline `app`
-- commands hold no master key.
CREATE TABLE accounts (
    app_id       BIGINT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    sid          TEXT   NOT NULL UNIQUE,
    token_hash   BYTEA  NOT NULL,
    sealed_token BYTEA
);

-- API keys of an application's account (`SK...` and the SHA-256 of the
-- secret, shown once): Basic auth as `SK...:secret`.
CREATE TABLE api_keys (
    sid           TEXT    PRIMARY KEY,
    app_id        BIGINT  NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    friendly_name TEXT    NOT NULL,
    secret_hash   BYTEA   NOT NULL,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX api_keys_app ON api_keys (app_id);

-- Verify services: an application's settings for its verifications, one
-- JSON document changed by compare-and-set on `version`; `seq` orders the
-- list and its pages.
CREATE TABLE verify_services (
    seq        BIGSERIAL PRIMARY KEY,
    sid        TEXT   NOT NULL UNIQUE,
    app_id     BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    settings   TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX verify_services_app ON verify_services (app_id, seq);

-- Verify webhooks of a service: factor and challenge events, posted signed.
CREATE TABLE verify_webhooks (
    seq           BIGSERIAL PRIMARY KEY,
    sid           TEXT    NOT NULL UNIQUE,
    app_id        BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    service_sid   TEXT    NOT NULL REFERENCES verify_services(sid) ON DELETE CASCADE,
    settings      TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX verify_webhooks_service ON verify_webhooks (service_sid, seq);

-- Each send of a Verify verification's code, and whether the verification
-- was approved: what /v2/Attempts lists and sums up. The number is kept
-- masked, with a keyed tag to find it by, never in full.
CREATE TABLE verify_attempts (
    seq              BIGSERIAL PRIMARY KEY,
    sid              TEXT    NOT NULL UNIQUE,
    app_id           BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    service_sid      TEXT    NOT NULL,
    verification_sid TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    country          TEXT    NOT NULL,
    masked_to        TEXT    NOT NULL,
    to_tag           TEXT    NOT NULL,
    code_length      BIGINT NOT NULL,
    locale           TEXT    NOT NULL,
    converted        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX verify_attempts_app ON verify_attempts (app_id, seq);
CREATE INDEX verify_attempts_verification ON verify_attempts (app_id, verification_sid);
