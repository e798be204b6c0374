-- Sample tables (every supported type, a composite key) and a deterministic random workload, used by
-- `make demo` and the integration tests.
CREATE TABLE IF NOT EXISTS typed (
  id bigint PRIMARY KEY,
  flag boolean, small smallint, num integer, big bigint,
  real4 real, real8 double precision,
  price numeric(12, 2), exact numeric, wide numeric(38, 10),
  body text, code varchar(16), fixed char(6), blob bytea,
  day date, at timestamp, at_tz timestamptz,
  ref uuid, doc json, docb jsonb
);
CREATE SEQUENCE IF NOT EXISTS typed_ids;
CREATE SEQUENCE IF NOT EXISTS moved_ids START 1000000000000;  -- keys given by primary-key updates
CREATE TABLE IF NOT EXISTS pairs (
  tenant text, seq integer, label text, PRIMARY KEY (tenant, seq)
);

-- Inserts row `i` with values derived from random(); about 1 in 8 columns is NULL.
CREATE OR REPLACE FUNCTION typed_row(i bigint) RETURNS typed LANGUAGE sql AS $$
  SELECT i,
    CASE WHEN random() < .12 THEN NULL ELSE random() < .5 END,
    CASE WHEN random() < .12 THEN NULL ELSE (random() * 65535 - 32768)::int2 END,
    CASE WHEN random() < .12 THEN NULL ELSE (random() * 4e9 - 2e9)::int4 END,
    CASE WHEN random() < .12 THEN NULL ELSE (random() * 9e18 - 4.5e18)::int8 END,
    CASE WHEN random() < .12 THEN NULL ELSE (random() * 1e6)::float4 END,
    CASE WHEN random() < .12 THEN NULL WHEN random() < .05 THEN 'NaN'::float8 ELSE random() * 1e-3 END,
    CASE WHEN random() < .12 THEN NULL ELSE round((random() * 1e9)::numeric, 2) END,
    CASE WHEN random() < .12 THEN NULL ELSE (random() * 1e20)::numeric / 7 END,
    CASE WHEN random() < .12 THEN NULL ELSE round((random() * 1e27)::numeric, 10) END,
    CASE WHEN random() < .12 THEN NULL
         ELSE E'line\nbreak\ttab \\ back ''quote" ünï 😀 ' || md5(random()::text) END,
    CASE WHEN random() < .12 THEN NULL ELSE substr(md5(random()::text), 1, (random() * 16)::int) END,
    CASE WHEN random() < .12 THEN NULL ELSE substr(md5(random()::text), 1, 3) END,
    CASE WHEN random() < .12 THEN NULL ELSE decode(md5(random()::text), 'hex') END,
    CASE WHEN random() < .12 THEN NULL ELSE date '1950-01-01' + (random() * 40000)::int END,
    CASE WHEN random() < .12 THEN NULL ELSE timestamp '1960-01-01' + random() * interval '80 years' END,
    CASE WHEN random() < .12 THEN NULL ELSE now() - random() * interval '3000 days' END,
    CASE WHEN random() < .12 THEN NULL ELSE gen_random_uuid() END,
    CASE WHEN random() < .12 THEN NULL ELSE json_build_object('k', i, 's', md5(random()::text)) END,
    CASE WHEN random() < .12 THEN NULL ELSE jsonb_build_object('arr', jsonb_build_array(i, random())) END
$$;

-- `txns` transactions of up to `ops` random operations each: inserts, updates (some of the key), deletes,
-- NULLing updates, composite-key churn. Commits inside the procedure, so each is its own transaction.
CREATE OR REPLACE PROCEDURE random_workload(seed float8, txns int, ops int) LANGUAGE plpgsql AS $$
DECLARE
  n_ops int; r float8; k bigint; max_id bigint;
BEGIN
  PERFORM setseed(seed);
  FOR t IN 1..txns LOOP
    n_ops := 1 + (random() * (ops - 1))::int;
    max_id := (SELECT last_value FROM typed_ids);
    FOR o IN 1..n_ops LOOP
      r := random();
      k := 1 + (random() * greatest(max_id, 1))::bigint;
      IF r < .40 THEN
        max_id := nextval('typed_ids');
        INSERT INTO typed SELECT (typed_row(max_id)).*;
      ELSIF r < .65 THEN
        UPDATE typed SET body = (typed_row(k)).body, price = (typed_row(k)).price, at_tz = now() WHERE id = k;
      ELSIF r < .72 THEN
        UPDATE typed SET id = nextval('moved_ids') WHERE id = k;  -- primary-key update
      ELSIF r < .80 THEN
        UPDATE typed SET flag = NULL, num = NULL, doc = NULL, blob = NULL WHERE id = k;
      ELSIF r < .90 THEN
        DELETE FROM typed WHERE id = k;
      ELSE
        INSERT INTO pairs VALUES (chr(97 + (random() * 5)::int), (random() * 200)::int, md5(random()::text))
          ON CONFLICT (tenant, seq) DO UPDATE SET label = EXCLUDED.label || '!';
        DELETE FROM pairs WHERE tenant = 'a' AND seq = (random() * 200)::int;
      END IF;
    END LOOP;
    COMMIT;
  END LOOP;
END $$;
