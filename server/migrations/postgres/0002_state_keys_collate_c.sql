-- passcode-server schema, version 2 (PostgreSQL).
-- A user's or an application's states are found and removed by key range
-- ('user:5:' up to 'user:5;'), which holds only in byte order. A database
-- created with a linguistic collation (en_US.UTF-8, ICU) orders ':' and ';'
-- by other rules, so the range missed the user's own states and could take
-- another user's. The keys compare byte by byte from now on, whatever the
-- database's collation.
ALTER TABLE states ALTER COLUMN key SET DATA TYPE TEXT COLLATE "C";
