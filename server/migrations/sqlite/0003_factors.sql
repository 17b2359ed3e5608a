-- passcode-server schema, version 3 (SQLite): Verify entities, TOTP
-- factors and their challenges.

CREATE TABLE verify_entities (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    sid         TEXT    NOT NULL UNIQUE,
    app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    service_sid TEXT    NOT NULL REFERENCES verify_services(sid) ON DELETE CASCADE,
    identity    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (service_sid, identity)
);

-- A factor's seed is its own (sealed under the master key) or, for one
-- brought over from the Authy API, the authenticator's (`device_id`),
-- whose state it then shares: a code used on one API is used on both.
CREATE TABLE verify_factors (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    sid         TEXT    NOT NULL UNIQUE,
    app_id      INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    entity_seq  INTEGER NOT NULL REFERENCES verify_entities(seq) ON DELETE CASCADE,
    device_id   INTEGER REFERENCES devices(id) ON DELETE CASCADE,
    sealed_seed BLOB,
    settings    TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (entity_seq, device_id)
);
CREATE INDEX verify_factors_entity ON verify_factors (entity_seq, seq);

-- A challenge's status changes once, from pending, by a conditional update.
CREATE TABLE verify_challenges (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    sid          TEXT    NOT NULL UNIQUE,
    app_id       INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    entity_seq   INTEGER NOT NULL REFERENCES verify_entities(seq) ON DELETE CASCADE,
    factor_seq   INTEGER NOT NULL REFERENCES verify_factors(seq) ON DELETE CASCADE,
    status       TEXT    NOT NULL,
    details      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    responded_at INTEGER
);
CREATE INDEX verify_challenges_entity ON verify_challenges (entity_seq, seq);
