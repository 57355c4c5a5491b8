// The sample database of the demo: a small shop with customers, products, orders and their items, invoices
// numbered by a sequence, a view and a materialized view. The data is generated, the same on every run, and
// uses the types whose text form a restore must keep: numeric, timestamptz, jsonb, enums, text with quotes,
// newlines and non-ASCII letters, NULLs.
export const SHOP_SQL = String.raw`
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');

CREATE TABLE customers (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email            text NOT NULL UNIQUE,
  name             text NOT NULL,
  country          char(2) NOT NULL,
  created_at       timestamptz NOT NULL,
  marketing_opt_in boolean NOT NULL DEFAULT false
);

CREATE TABLE products (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku        text NOT NULL UNIQUE,
  title      text NOT NULL,
  price      numeric(10,2) NOT NULL CHECK (price > 0),
  attributes jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE orders (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status      order_status NOT NULL,
  placed_at   timestamptz NOT NULL,
  shipped_at  timestamptz,
  note        text
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE order_items (
  order_id   bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id integer NOT NULL REFERENCES products (id),
  quantity   integer NOT NULL CHECK (quantity > 0),
  unit_price numeric(10,2) NOT NULL,
  PRIMARY KEY (order_id, product_id)
);

CREATE SEQUENCE invoice_number_seq START 100001;
CREATE TABLE invoices (
  number    bigint PRIMARY KEY DEFAULT nextval('invoice_number_seq'),
  order_id  bigint NOT NULL UNIQUE REFERENCES orders (id),
  issued_at timestamptz NOT NULL,
  total     numeric(12,2) NOT NULL
);
ALTER SEQUENCE invoice_number_seq OWNED BY invoices.number;

INSERT INTO customers (email, name, country, created_at, marketing_opt_in)
SELECT 'customer' || g || '@example.com',
       (ARRAY['Ana', 'Björn', 'Chloé', 'Dmitri', 'Emeka', 'Fatima', 'Giulia', 'Hiroshi', 'Zoë', 'José'])[1 + g % 10]
         || ' ' || (ARRAY['Silva', 'Østergaard', 'Dubois', 'Ivanov', 'Okafor', 'Haddad', 'Rossi', 'Tanaka', 'O''Brien'])[1 + g % 9],
       (ARRAY['PT', 'DK', 'FR', 'DE', 'NG', 'MA', 'IT', 'JP', 'IE', 'US'])[1 + g % 10],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '37 minutes 11.25 seconds',
       g % 3 = 0
  FROM generate_series(1, 2000) AS g;

INSERT INTO products (sku, title, price, attributes)
SELECT 'SKU-' || lpad(g::text, 4, '0'),
       (ARRAY['Mug', 'T-shirt', 'Notebook', 'Sticker pack', 'Hoodie'])[1 + g % 5] || ' no. ' || g,
       round((g * 7.37) % 120 + 2.99, 2),
       jsonb_build_object('color', (ARRAY['black', 'white', 'teal', 'orange'])[1 + g % 4], 'weight_g', g * 10, 'fragile', g % 7 = 0)
  FROM generate_series(1, 50) AS g;

INSERT INTO orders (customer_id, status, placed_at, shipped_at, note)
SELECT 1 + (g * 7919) % 2000,
       (ARRAY['paid', 'shipped', 'shipped', 'shipped', 'paid', 'cancelled', 'shipped', 'pending', 'shipped', 'paid'])[1 + g % 10]::order_status,
       timestamptz '2024-03-01 08:00:00+00' + g * interval '1 hour 7 minutes',
       CASE WHEN g % 10 IN (1, 2, 3, 6, 8) THEN timestamptz '2024-03-03 08:00:00+00' + g * interval '1 hour 7 minutes' END,
       CASE g % 50 WHEN 0 THEN 'leave it with the neighbour, "Mrs. Lee"' WHEN 25 THEN E'call first\nthen ring twice' END
  FROM generate_series(1, 5000) AS g;

INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.id, p.id, 1 + (o.id + k) % 4, p.price
  FROM orders o
 CROSS JOIN LATERAL generate_series(1, 1 + o.id % 3) AS k
  JOIN products p ON p.id = 1 + (o.id * 13 + k * 17) % 50;

INSERT INTO invoices (order_id, issued_at, total)
SELECT o.id, o.placed_at + interval '5 minutes', sum(i.quantity * i.unit_price)
  FROM orders o JOIN order_items i ON i.order_id = o.id
 WHERE o.status IN ('paid', 'shipped')
 GROUP BY o.id
 ORDER BY o.id;

CREATE VIEW customer_totals AS
SELECT c.id AS customer_id, c.name, count(DISTINCT o.id) AS orders, coalesce(sum(inv.total), 0) AS invoiced
  FROM customers c
  LEFT JOIN orders o ON o.customer_id = c.id
  LEFT JOIN invoices inv ON inv.order_id = o.id
 GROUP BY c.id, c.name;

CREATE MATERIALIZED VIEW monthly_revenue AS
SELECT date_trunc('month', issued_at AT TIME ZONE 'UTC')::date AS month, count(*) AS invoices, sum(total) AS revenue
  FROM invoices
 GROUP BY 1;

ANALYZE;
`;
