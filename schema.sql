-- Royal Care schema, version 1. Embedded in the binary (src/store/migrate.rs) and applied
-- forward-only; `PRAGMA user_version` records the last applied version. Never edit a
-- released version in place: add `schema_v2.sql`-style steps in migrate.rs instead.

-- Facts about this database file. `epoch` identifies its event stream: it is created
-- with the file and replaced in every backup copy, so a client resuming with `since`
-- against a restored file is told to resync instead of being given someone else's events.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    username          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email             TEXT NOT NULL DEFAULT '',
    first_name        TEXT NOT NULL DEFAULT '',
    last_name         TEXT NOT NULL DEFAULT '',
    role              TEXT NOT NULL CHECK (role IN ('operator', 'therapist', 'driver')),
    phone_number      TEXT NOT NULL DEFAULT '',
    specialization    TEXT NOT NULL DEFAULT '',
    -- Django's `pbkdf2_sha256$<iterations>$<salt>$<hash>`; never leaves the store module.
    password          TEXT NOT NULL,
    is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    date_joined       TEXT NOT NULL
);
CREATE INDEX users_email ON users (email COLLATE NOCASE);

-- Knox 5 tokens: only the SHA-512 hex digest of the token is stored.
CREATE TABLE auth_tokens (
    digest     TEXT PRIMARY KEY,
    token_key  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    TEXT NOT NULL,
    expiry     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX auth_tokens_key ON auth_tokens (token_key);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expiry ON auth_tokens (expiry);

CREATE TABLE clients (
    id            INTEGER PRIMARY KEY,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL DEFAULT '',
    phone_number  TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE services (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    duration     INTEGER NOT NULL CHECK (duration > 0),   -- minutes
    price_cents  INTEGER NOT NULL CHECK (price_cents >= 0), -- money as integer cents
    is_active    INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);

CREATE TABLE appointments (
    id                INTEGER PRIMARY KEY,
    client_id         INTEGER NOT NULL REFERENCES clients (id),
    therapist_id      INTEGER REFERENCES users (id),
    driver_id         INTEGER REFERENCES users (id),
    operator_id       INTEGER REFERENCES users (id),
    date              TEXT NOT NULL,               -- YYYY-MM-DD, clinic local date
    start_time        TEXT NOT NULL,               -- HH:MM:SS
    end_time          TEXT NOT NULL,               -- HH:MM:SS, after start_time
    status            TEXT NOT NULL DEFAULT 'pending',
    payment_status    TEXT NOT NULL DEFAULT 'pending',
    payment_amount_cents INTEGER,
    payment_method    TEXT NOT NULL DEFAULT '',
    location          TEXT NOT NULL DEFAULT '',
    notes             TEXT NOT NULL DEFAULT '',
    rejection_reason  TEXT NOT NULL DEFAULT '',
    pickup_urgency    TEXT NOT NULL DEFAULT '',
    cancellation_reason TEXT NOT NULL DEFAULT '',
    -- When the appointment last became `pending` (created, or a rejection denied): the
    -- auto-cancel clock runs from here.
    pending_since     TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    -- Workflow timestamps (ISO-8601 UTC), set by the transition table's `stamp` column.
    therapist_confirmed_at   TEXT,
    rejected_at              TEXT,
    driver_confirmed_at      TEXT,
    started_at               TEXT,
    journey_started_at       TEXT,
    arrived_at               TEXT,
    dropped_off_at           TEXT,
    session_started_at       TEXT,
    awaiting_payment_at      TEXT,
    payment_received_at      TEXT,
    pickup_requested_at      TEXT,
    pickup_assigned_at       TEXT,
    return_journey_at        TEXT,
    transport_completed_at   TEXT,
    cancelled_at             TEXT
);
CREATE INDEX appointments_date ON appointments (date, start_time);
CREATE INDEX appointments_therapist ON appointments (therapist_id, date);
CREATE INDEX appointments_driver ON appointments (driver_id, date);
CREATE INDEX appointments_status ON appointments (status);

-- Every therapist assigned to an appointment: the lead (also in appointments.therapist_id)
-- and the others of a group booking, each with their own confirmation. Visibility and
-- double-booking checks read this one table.
CREATE TABLE appointment_therapists (
    appointment_id INTEGER NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    therapist_id   INTEGER NOT NULL REFERENCES users (id),
    confirmed_at   TEXT,
    PRIMARY KEY (appointment_id, therapist_id)
) WITHOUT ROWID;
CREATE INDEX appointment_therapists_user ON appointment_therapists (therapist_id);

CREATE TABLE appointment_services (
    appointment_id INTEGER NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    service_id     INTEGER NOT NULL REFERENCES services (id),
    PRIMARY KEY (appointment_id, service_id)
) WITHOUT ROWID;
CREATE INDEX appointment_services_service ON appointment_services (service_id);
CREATE INDEX appointments_pending ON appointments (status, pending_since);

-- The event log: one row per change, written in the same transaction as the change, so
-- `seq` order is commit order. The hub broadcasts rows; `?since=` replays them.
-- `audience_users` is ",3,7," (the users who may see it, besides operators when
-- `audience_operators` = 1), so a replay filters with instr() and no join.
CREATE TABLE events (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at         TEXT NOT NULL,
    kind               TEXT NOT NULL,
    appointment_id     INTEGER,
    audience_operators INTEGER NOT NULL DEFAULT 0,
    audience_users     TEXT NOT NULL DEFAULT ',',
    payload            TEXT NOT NULL
);
CREATE INDEX events_created ON events (created_at);
