-- passcode-server schema, version 1 (SQLite).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE apps (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    name                    TEXT    NOT NULL,
    key_hash                BLOB    NOT NULL UNIQUE,
    token_length            INTEGER NOT NULL,
    sms_enabled             INTEGER NOT NULL DEFAULT 1,
    calls_enabled           INTEGER NOT NULL DEFAULT 1,
    phone_export_enabled    INTEGER NOT NULL DEFAULT 0,
    generic_tokens_enabled  INTEGER NOT NULL DEFAULT 1,
    custom_messages_enabled INTEGER NOT NULL DEFAULT 0,
    sandbox                 INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL
);

-- User ids are global and start at 1000, so that 51 (the sandbox's user)
-- is never handed out to anyone else.
CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id       INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    country_code INTEGER NOT NULL,
    phone        TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    registered   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    UNIQUE (app_id, country_code, phone)
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('users', 999);

CREATE TABLE devices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    uid         BLOB    NOT NULL UNIQUE,
    sealed_seed BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

-- Consumable state: the library's encodings, changed only by
-- compare-and-set on `version`.
CREATE TABLE states (
    key     TEXT    PRIMARY KEY,
    value   BLOB    NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE stats (
    app_id    INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    year      INTEGER NOT NULL,
    month     INTEGER NOT NULL,
    api_calls INTEGER NOT NULL DEFAULT 0,
    auths     INTEGER NOT NULL DEFAULT 0,
    calls     INTEGER NOT NULL DEFAULT 0,
    sms       INTEGER NOT NULL DEFAULT 0,
    users     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, year, month)
);
