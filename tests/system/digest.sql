-- The digest of a worker database's data (users, rides, ride members) that
-- the system tests compare between copies: equal digests = equal data.
-- One query for tests/system/orch_sys.c (sys_dbs) and
-- tests/chaos/nemesis_lib.py (check_dbs).
SELECT md5(
 (SELECT coalesce(string_agg(md5(username) || password, ','
   ORDER BY md5(username)), '') FROM users) || '|' ||
 (SELECT coalesce(string_agg(ride_id || ':' || md5(created_by) ||
   ':' || ts || ':' || source || ':' || destination, ','
   ORDER BY ride_id), '') FROM rides) || '|' ||
 (SELECT coalesce(string_agg(ride_id || ':' || seq || ':' ||
   md5(username), ',' ORDER BY ride_id, seq), '')
   FROM ride_members))
