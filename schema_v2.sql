-- Royal Care schema, version 2: what the clinic's existing React frontend reads and what
-- an import from its Django database brings across (docs/MIGRATION.md). Applied after
-- schema.sql by src/store/migrate.rs; never edit once released.

-- Staff details the original kept: a therapist's preferred pressure, a driver's licence
-- and plate ("" when none).
ALTER TABLE users ADD COLUMN massage_pressure TEXT NOT NULL DEFAULT ''
    CHECK (massage_pressure IN ('', 'soft', 'moderate', 'hard'));
ALTER TABLE users ADD COLUMN license_number TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN motorcycle_plate TEXT NOT NULL DEFAULT '';

-- Booking details the original's screens read. `group_size` is how many people the
-- booking is for; `requires_car` asks for a car rather than a motorcycle.
ALTER TABLE appointments ADD COLUMN group_size INTEGER NOT NULL DEFAULT 1 CHECK (group_size >= 1);
ALTER TABLE appointments ADD COLUMN requires_car INTEGER NOT NULL DEFAULT 0 CHECK (requires_car IN (0, 1));
ALTER TABLE appointments ADD COLUMN pickup_notes TEXT NOT NULL DEFAULT '';
-- When the pickup driver expects to arrive (ISO-8601 UTC), if known.
ALTER TABLE appointments ADD COLUMN estimated_pickup_time TEXT;
-- Why the last driver assigned to the pickup could not go (`reject_pickup`).
ALTER TABLE appointments ADD COLUMN pickup_rejection_reason TEXT NOT NULL DEFAULT '';

-- When each staff member is free: one row per slot. A slot whose start_time is after its
-- end_time crosses midnight (ends on the next day), as in the original.
CREATE TABLE availability (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    date          TEXT NOT NULL,               -- YYYY-MM-DD, clinic local date
    start_time    TEXT NOT NULL,               -- HH:MM:SS
    end_time      TEXT NOT NULL,               -- HH:MM:SS; before start_time = next day
    is_available  INTEGER NOT NULL DEFAULT 1 CHECK (is_available IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (user_id, date, start_time, end_time)
);
CREATE INDEX availability_date ON availability (date, user_id);

-- A staff member's notifications (what they missed). `appointment_id` goes NULL when the
-- appointment is deleted; the message stays.
CREATE TABLE notifications (
    id                 INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    appointment_id     INTEGER REFERENCES appointments (id) ON DELETE SET NULL,
    notification_type  TEXT NOT NULL,
    message            TEXT NOT NULL,
    is_read            INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),
    created_at         TEXT NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE INDEX notifications_appointment ON notifications (appointment_id);

-- Availability (issue 11, item 1): a staff member's usual week, one range per weekday
-- they work (0 = Monday … 6 = Sunday; a start after the end crosses midnight, as slots
-- do). Dated rows in `availability` are the exceptions: unavailable ones take hours away
-- (a day off), available ones add hours (scheduling::availability says the whole rule).
CREATE TABLE working_hours (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_time  TEXT NOT NULL,                 -- HH:MM:SS
    end_time    TEXT NOT NULL,                 -- HH:MM:SS; before start_time = next day
    PRIMARY KEY (user_id, weekday)
);
