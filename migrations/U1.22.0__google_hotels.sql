-- Undo of V1.22.0: refused (by the foreign keys) while anything of the channel remains.
DELETE FROM channel.channels WHERE code = 'google_hotels';
DELETE FROM shared.users WHERE id = '00000000-0000-7000-8000-000000000104';
