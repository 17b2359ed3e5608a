-- passcode-server schema, version 1 (PostgreSQL).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE apps (
    id                      BIGSERIAL PRIMARY KEY,
    name                    TEXT     NOT NULL,
    key_hash                BYTEA    NOT NULL UNIQUE,
    token_length            SMALLINT NOT NULL,
    sms_enabled             BOOLEAN  NOT NULL DEFAULT TRUE,
    calls_enabled           BOOLEAN  NOT NULL DEFAULT TRUE,
    phone_export_enabled    BOOLEAN  NOT NULL DEFAULT FALSE,
    generic_tokens_enabled  BOOLEAN  NOT NULL DEFAULT TRUE,
    custom_messages_enabled BOOLEAN  NOT NULL DEFAULT FALSE,
    sandbox                 BOOLEAN  NOT NULL DEFAULT FALSE,
    created_at              BIGINT   NOT NULL
);

-- User ids are global and start at 1000, so that 51 (the sandbox's user)
-- is never handed out to anyone else.
CREATE SEQUENCE users_id_seq START WITH 1000;
CREATE TABLE users (
    id           BIGINT  PRIMARY KEY DEFAULT nextval('users_id_seq'),
    app_id       BIGINT  NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    country_code INTEGER NOT NULL,
    phone        TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    registered   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT  NOT NULL,
    UNIQUE (app_id, country_code, phone)
);
ALTER SEQUENCE users_id_seq OWNED BY users.id;

CREATE TABLE devices (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    uid         BYTEA  NOT NULL UNIQUE,
    sealed_seed BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

-- Consumable state: the library's encodings, changed only by
-- compare-and-set on `version`.
CREATE TABLE states (
    key     TEXT   PRIMARY KEY,
    value   BYTEA  NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE stats (
    app_id    BIGINT   NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    year      INTEGER  NOT NULL,
    month     SMALLINT NOT NULL,
    api_calls BIGINT   NOT NULL DEFAULT 0,
    auths     BIGINT   NOT NULL DEFAULT 0,
    calls     BIGINT   NOT NULL DEFAULT 0,
    sms       BIGINT   NOT NULL DEFAULT 0,
    users     BIGINT   NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, year, month)
);
