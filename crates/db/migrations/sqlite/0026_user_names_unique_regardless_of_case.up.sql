-- User names are unique regardless of case, as IAM's are: `ALICE` cannot
-- be created beside `alice`. The database enforces it, so two concurrent
-- sign-ups cannot both pass a check. Names are ASCII (`[a-zA-Z0-9-_.]`,
-- checked by `UserName::parse`); SQLite's `lower` folds ASCII letters
-- only, as Postgres's under the "C" collation does (its 0026).
--
-- A database may already hold names that differ only by case. The upgrade
-- must not fail on them, nor rename or delete anyone's account: the oldest
-- of each group (by created_at, then id) keeps its name as the one the
-- index covers; the later ones keep their names too but are marked
-- `name_case_duplicate`, left out of the index, and named in a warning at
-- every start (`miniaws serve`, `miniaws migrate up`). New users are never
-- marked, so no new look-alike of any existing name can be created.
ALTER TABLE users ADD COLUMN name_case_duplicate BOOLEAN NOT NULL DEFAULT FALSE;

UPDATE users SET name_case_duplicate = TRUE
 WHERE EXISTS (
     SELECT 1 FROM users AS older
      WHERE lower(older.name) = lower(users.name)
        AND (older.created_at, older.id) < (users.created_at, users.id)
 );

CREATE UNIQUE INDEX users_name_lower_idx ON users (lower(name))
    WHERE NOT name_case_duplicate;
