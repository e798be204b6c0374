-- Small, deterministic e-commerce history that exists BEFORE `streamshop replicate` starts (it reaches
-- ClickHouse through the initial snapshot, _version = 0). Run after sql/postgres/schema.sql, with psql in
-- autocommit mode: every CALL/COMMIT below is its own transaction, as an application would write them.
-- Timestamps carry microseconds so that the exact Int64 µs → DateTime64(6, 'UTC') conversion is exercised.

-- Places one order with p_lines lines (products picked among the active ones by p_seed) and sets its total to
-- the sum of its lines, in the caller's transaction: the invariant the singular dbt test checks.
CREATE OR REPLACE PROCEDURE dbt_fixture_place_order(p_customer bigint, p_lines int, p_seed int, p_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  v_order bigint;
  v_active int;
BEGIN
  SELECT count(*) INTO v_active FROM products WHERE active;
  INSERT INTO orders (customer_id, status, total, created_at, updated_at)
  VALUES (p_customer, 'new', 0, p_at, p_at) RETURNING order_id INTO v_order;
  INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
  SELECT v_order, l, p.product_id, 1 + (p_seed + l) % 4, p.price
  FROM generate_series(1, p_lines) AS l
  JOIN LATERAL (SELECT product_id, price FROM products WHERE active ORDER BY product_id
                OFFSET (p_seed * 7 + l * 3) % v_active LIMIT 1) AS p ON true;
  UPDATE orders SET total = coalesce((SELECT sum(quantity * unit_price) FROM order_items WHERE order_id = v_order), 0)
  WHERE order_id = v_order;
END $$;

-- Moves an order one step through its lifecycle (new → paid → shipped → delivered) towards p_target, or
-- cancels it.
CREATE OR REPLACE PROCEDURE dbt_fixture_advance(p_order bigint, p_target text)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE orders
  SET status = CASE
        WHEN p_target = 'cancelled' THEN 'cancelled'
        WHEN status = 'new' THEN 'paid'
        WHEN status = 'paid' THEN 'shipped'
        ELSE 'delivered' END,
      updated_at = updated_at + interval '5 hours 0.000317 seconds'
  WHERE order_id = p_order AND status <> p_target AND status NOT IN ('delivered', 'cancelled');
END $$;

-- The target status of order i: 20% new, 20% paid, 20% shipped, 30% delivered, 10% cancelled.
CREATE OR REPLACE FUNCTION dbt_fixture_target(i bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT (ARRAY['new', 'new', 'paid', 'paid', 'shipped', 'shipped', 'delivered', 'delivered', 'delivered',
                'cancelled'])[1 + i % 10]
$$;

INSERT INTO customers (email, full_name, country, city, created_at, updated_at)
SELECT lower(f) || '.' || lower(l) || '.' || i || '@example.com', f || ' ' || l, split_part(place, '|', 1),
       split_part(place, '|', 2), at, at
FROM generate_series(1, 30) AS i,
     LATERAL (SELECT (ARRAY['Ada', 'Björn', 'Chloé', 'Dmitri', 'Emeka', 'Fatima', 'Grace', 'Hiro', 'Ingrid',
                            'José', 'Kwame', 'Lena', 'Mateo'])[1 + i % 13] AS f,
                     (ARRAY['Okafor', 'Lindqvist', 'Dubois', 'Ivanov', 'Nakamura', 'García', 'Müller', 'O''Brien',
                            'Rossi', 'Silva', 'Kowalski'])[1 + (i * 7) % 11] AS l,
                     (ARRAY['Germany|Berlin', 'France|Lyon', 'Japan|Osaka', 'Brazil|São Paulo', 'Nigeria|Lagos',
                            'Canada|Montréal', 'India|Pune', 'Spain|Sevilla'])[1 + (i * 5) % 8] AS place,
                     timestamptz '2024-01-03 08:00:00.000001+00'
                       + i * interval '1 day 3 hours 17.250003 seconds' AS at) AS v;

INSERT INTO products (sku, name, category, price, active, created_at, updated_at)
SELECT 'SKU-' || lpad(i::text, 4, '0'), adj || ' ' || noun, category,
       round((4.99 + (i * 37) % 180 + (i % 7) * 0.13)::numeric, 2), i % 11 <> 0, at, at
FROM generate_series(1, 22) AS i,
     LATERAL (SELECT (ARRAY['Classic', 'Compact', 'Deluxe', 'Eco', 'Rugged'])[1 + i % 5] AS adj,
                     (ARRAY['Kettle|Kitchen', 'Backpack|Outdoor', 'Desk Lamp|Home', 'Headphones|Electronics',
                            'Yoga Mat|Sports', 'Notebook|Office', 'Teapot|Kitchen'])[1 + i % 7] AS pair,
                     timestamptz '2023-12-01 00:00:00+00' + i * interval '2 hours 0.5 seconds' AS at) AS v,
     LATERAL (SELECT split_part(pair, '|', 1) AS noun, split_part(pair, '|', 2) AS category) AS w;

-- 60 orders by customers 1..30 (customers whose id is a multiple of 7 never order).
DO $$
DECLARE
  c bigint;
BEGIN
  FOR i IN 1..60 LOOP
    c := 1 + (i * 11) % 30;
    IF c % 7 = 0 THEN c := c + 1; END IF;
    CALL dbt_fixture_place_order(c, 1 + i % 4, i, timestamptz '2024-02-01 09:00:00.123456+00'
                                                  + i * interval '13 hours 7 minutes 0.000011 seconds');
    COMMIT;
  END LOOP;
  -- Lifecycle: three passes, one status step per order and pass, each its own transaction.
  FOR pass IN 1..3 LOOP
    FOR o IN 1..60 LOOP
      CALL dbt_fixture_advance(o, dbt_fixture_target(o));
      COMMIT;
    END LOOP;
  END LOOP;
END $$;
