-- 0004: per-user permission profiles (SPEC X2/O1/T10). The defaults keep
-- what every user could do before: dial out and dial from the keypad, but
-- not control recording. allowed_anis is a JSON array of E.164 numbers the
-- user may present as caller ID; '' (or '[]') means only the organisation's
-- default, the DID of the extension dialling.

ALTER TABLE users ADD COLUMN can_outdial INTEGER NOT NULL DEFAULT 1 CHECK (can_outdial IN (0, 1));
ALTER TABLE users ADD COLUMN can_keypad_dial INTEGER NOT NULL DEFAULT 1 CHECK (can_keypad_dial IN (0, 1));
ALTER TABLE users ADD COLUMN can_control_recording INTEGER NOT NULL DEFAULT 0 CHECK (can_control_recording IN (0, 1));
ALTER TABLE users ADD COLUMN allowed_anis TEXT NOT NULL DEFAULT '';
