-- Changes made WHILE `streamshop replicate` streams (they reach ClickHouse as versioned rows, deletes as
-- _deleted = 1): new customers, products and orders, lifecycle updates, price and customer updates, line edits
-- (with the order total kept equal to its lines), a primary-key update, deletes with ON DELETE CASCADE.
-- Needs tests/dbt/oltp_initial.sql first. psql autocommit: each statement or COMMIT is one transaction.

INSERT INTO customers (email, full_name, country, city, created_at, updated_at)
SELECT 'new.customer.' || i || '@example.org', 'Customer ' || i, (ARRAY['Kenya', 'Mexico', 'Poland'])[1 + i % 3],
       (ARRAY['Nairobi', 'Puebla', 'Kraków'])[1 + i % 3], at, at
FROM generate_series(31, 50) AS i,
     LATERAL (SELECT timestamptz '2024-03-01 10:00:00.5+00' + i * interval '7 hours 0.000123 seconds' AS at) AS v;

INSERT INTO products (sku, name, category, price, active, created_at, updated_at) VALUES
  ('SKU-0100', 'Cast Iron Pan', 'Kitchen', 39.90, true,
   '2024-03-02 12:00:00.000007+00', '2024-03-02 12:00:00.000007+00'),
  ('SKU-0101', 'Trail Shoes', 'Outdoor', 119.00, true, '2024-03-02 12:30:00+00', '2024-03-02 12:30:00+00'),
  ('SKU-0102', 'Discontinued Gadget', 'Electronics', 0.99, false, '2024-03-02 13:00:00+00', '2024-03-02 13:00:00+00');

-- Price changes: they apply to new orders only (order lines keep their unit_price).
UPDATE products SET price = price + 1.25, updated_at = updated_at + interval '30 days' WHERE product_id % 4 = 1;
UPDATE products SET active = false, updated_at = updated_at + interval '31 days' WHERE sku = 'SKU-0003';

-- 100 more orders, for customers 1..50 (multiples of 7 still never order), then the lifecycle of all orders.
DO $$
DECLARE
  c bigint;
BEGIN
  FOR i IN 61..160 LOOP
    c := 1 + (i * 13) % 50;
    IF c % 7 = 0 THEN c := c + 1; END IF;
    CALL dbt_fixture_place_order(c, 1 + i % 5, i, timestamptz '2024-03-05 00:00:00.999999+00'
                                                  + i * interval '5 hours 11 minutes 0.000007 seconds');
    COMMIT;
  END LOOP;
  FOR pass IN 1..3 LOOP
    FOR o IN 1..160 LOOP
      CALL dbt_fixture_advance(o, dbt_fixture_target(o));
      COMMIT;
    END LOOP;
  END LOOP;
END $$;

-- Customer updates (email and city change).
UPDATE customers SET email = 'moved.' || customer_id || '@example.net', city = 'Hamburg',
       updated_at = updated_at + interval '60 days 0.000001 seconds'
WHERE customer_id IN (3, 8, 33);

-- An order with no lines (total 0), for customer 2.
INSERT INTO orders (customer_id, status, total, created_at, updated_at)
VALUES (2, 'new', 0, '2024-05-01 00:00:00.000001+00', '2024-05-01 00:00:00.000001+00');

-- Line edits, each in one transaction with the total kept equal to the lines.
BEGIN;
DELETE FROM order_items WHERE order_id = 64 AND line_no = 2;
UPDATE orders SET total = (SELECT coalesce(sum(quantity * unit_price), 0) FROM order_items WHERE order_id = 64),
       updated_at = updated_at + interval '1 minute' WHERE order_id = 64;
COMMIT;
BEGIN;
UPDATE order_items SET quantity = quantity + 2 WHERE order_id = 70 AND line_no = 1;
INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
SELECT 70, 9, product_id, 3, price FROM products WHERE sku = 'SKU-0100';
UPDATE orders SET total = (SELECT sum(quantity * unit_price) FROM order_items WHERE order_id = 70),
       updated_at = updated_at + interval '1 minute' WHERE order_id = 70;
COMMIT;
-- A primary-key update: the line renumbered (ClickHouse gets a delete of the old key and the new row).
UPDATE order_items SET line_no = 42 WHERE order_id = 75 AND line_no = 1;

-- Deletes: two customers (their orders and lines go with them: ON DELETE CASCADE), one order, one product
-- that was never ordered.
DELETE FROM customers WHERE customer_id IN (5, 12);
DELETE FROM orders WHERE order_id = 99;
DELETE FROM products WHERE sku = 'SKU-0102';
