-- SigV4 secret access keys are stored sealed, no longer in clear (100
-- characters for a 40-character secret; see the Postgres migration of the
-- same number, which widens the column). SQLite does not enforce a
-- VARCHAR's length, so nothing changes here; the file keeps both backends'
-- numbered lists the same. The server seals existing rows at start-up.
SELECT 1;
