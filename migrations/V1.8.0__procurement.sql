-- Procurement context: the hotel's stores. Suppliers and the items bought from them, purchase
-- orders and their approval, goods received at the loading dock, departmental requisitions, and
-- the stock ledger (every quantity that enters or leaves the stores). Kitchens, bars and
-- engineering consume stock: their orders are referenced by id only (other contexts).

CREATE TABLE procurement.suppliers (
  id                      uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id             uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  code                    text NOT NULL,   -- the vendor number used by accounts payable
  legal_name              text NOT NULL,
  trading_name            text,
  tax_id                  text,            -- VAT / EIN: printed on every invoice, needed for input-tax reclaim
  country                 shared.country_code,
  currency                shared.currency_code NOT NULL,
  payment_terms_days      integer NOT NULL DEFAULT 30 CHECK (payment_terms_days >= 0),
  lead_time_days          integer NOT NULL DEFAULT 2 CHECK (lead_time_days >= 0),
  minimum_order_amount    shared.amount NOT NULL DEFAULT 0,
  -- {"name": "...", "email": "...", "phone": "...", "ordering_email": "...", "address": {...}}
  contact                 jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(contact) = 'object'),
  categories              text[] NOT NULL DEFAULT '{}',   -- what we buy from them: 'food', 'linen', …
  -- Bank details are the target of invoice-redirection fraud: encrypted, and kept out of the audit log.
  bank_account_encrypted  shared.pgp_ciphertext,
  bank_account_last4      text CHECK (bank_account_last4 IS NULL OR bank_account_last4 ~ '^[0-9A-Z]{4}$'),
  status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'on_hold', 'blocked')),
  -- Food suppliers must hold a valid hygiene certificate before we order from them (HACCP audit).
  food_safety_certified_until date,
  notes                   text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  created_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX suppliers_code_active_uq ON procurement.suppliers (property_id, code) WHERE deleted_at IS NULL;
-- One vendor record per legal entity: duplicate vendors are a classic double-payment / fraud risk.
CREATE UNIQUE INDEX suppliers_tax_id_active_uq ON procurement.suppliers (property_id, tax_id) WHERE deleted_at IS NULL AND tax_id IS NOT NULL;
CREATE INDEX suppliers_property_status_idx ON procurement.suppliers (property_id, status, legal_name) WHERE deleted_at IS NULL;
CREATE INDEX suppliers_contact_gin ON procurement.suppliers USING gin (contact jsonb_path_ops);
SELECT shared.setup_tenant_table('procurement.suppliers', ARRAY['bank_account_encrypted']);

CREATE TABLE procurement.stock_items (
  id                     uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id            uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  sku                    text NOT NULL,
  name                   text NOT NULL,
  category               text NOT NULL CHECK (category IN ('food', 'beverage', 'guest_amenities', 'housekeeping_supplies', 'linen',
                                                           'cleaning_chemicals', 'engineering_parts', 'stationery', 'minibar', 'other')),
  -- Stock is counted and issued in unit_of_measure; suppliers sell in packs (a case of 24 bottles).
  unit_of_measure        text NOT NULL CHECK (unit_of_measure IN ('each', 'kg', 'g', 'l', 'ml', 'm', 'bottle', 'can', 'roll', 'pack', 'box', 'case', 'pair')),
  purchase_unit          text,
  units_per_purchase_unit numeric(12, 3) NOT NULL DEFAULT 1 CHECK (units_per_purchase_unit > 0),
  -- Par: what the store should hold after a delivery; reorder point: order when on-hand falls to it.
  par_level              numeric(12, 3) CHECK (par_level IS NULL OR par_level >= 0),
  reorder_point          numeric(12, 3) NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
  reorder_quantity       numeric(12, 3) CHECK (reorder_quantity IS NULL OR reorder_quantity > 0),
  preferred_supplier_id  uuid REFERENCES procurement.suppliers (id),
  last_unit_cost         shared.amount,
  currency               shared.currency_code,
  storage_location       text,            -- 'Dry store A3', 'Walk-in chiller', 'Linen room'
  is_perishable          boolean NOT NULL DEFAULT false,
  shelf_life_days        integer CHECK (shelf_life_days IS NULL OR shelf_life_days > 0),
  allergens              text[] NOT NULL DEFAULT '{}',   -- EU 14 allergens, for the kitchen's recipe cards
  is_active              boolean NOT NULL DEFAULT true,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  created_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at             timestamptz,
  version                integer NOT NULL DEFAULT 1,
  CONSTRAINT stock_items_reorder_below_par CHECK (par_level IS NULL OR reorder_point <= par_level),
  CONSTRAINT stock_items_cost_currency CHECK (last_unit_cost IS NULL OR currency IS NOT NULL)
);
CREATE UNIQUE INDEX stock_items_sku_active_uq ON procurement.stock_items (property_id, sku) WHERE deleted_at IS NULL;
CREATE INDEX stock_items_property_category_idx ON procurement.stock_items (property_id, category, name) WHERE deleted_at IS NULL AND is_active;
CREATE INDEX stock_items_preferred_supplier_idx ON procurement.stock_items (preferred_supplier_id);
SELECT shared.setup_tenant_table('procurement.stock_items');

CREATE TABLE procurement.purchase_orders (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id        uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  po_number          text NOT NULL,   -- quoted by the supplier on delivery note and invoice
  supplier_id        uuid NOT NULL REFERENCES procurement.suppliers (id),
  department_id      uuid,            -- operations.departments(id) the cost is charged to: another context, id only
  status             text NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'submitted', 'approved', 'partially_received', 'received', 'cancelled')),
  order_date         date NOT NULL DEFAULT CURRENT_DATE,
  expected_date      date,
  currency           shared.currency_code NOT NULL,
  subtotal_amount    shared.amount NOT NULL DEFAULT 0,
  tax_amount         shared.amount NOT NULL DEFAULT 0,
  shipping_amount    shared.amount NOT NULL DEFAULT 0,
  total_amount       shared.amount NOT NULL DEFAULT 0,
  requested_by       uuid REFERENCES shared.users (id),
  submitted_at       timestamptz,
  approved_by        uuid REFERENCES shared.users (id),
  approved_at        timestamptz,
  cancelled_at       timestamptz,
  cancellation_reason text,
  supplier_reference text,            -- the supplier's order confirmation number
  delivery_location  text,            -- 'Loading dock', 'Main kitchen'
  notes              text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  CONSTRAINT purchase_orders_dates CHECK (expected_date IS NULL OR expected_date >= order_date),
  CONSTRAINT purchase_orders_total CHECK (total_amount = subtotal_amount + tax_amount + shipping_amount),
  CONSTRAINT purchase_orders_approved CHECK (status NOT IN ('approved', 'partially_received', 'received')
                                             OR (approved_by IS NOT NULL AND approved_at IS NOT NULL)),
  CONSTRAINT purchase_orders_submitted CHECK (status = 'draft' OR status = 'cancelled' OR submitted_at IS NOT NULL),
  CONSTRAINT purchase_orders_approval_order CHECK (approved_at IS NULL OR submitted_at IS NULL OR approved_at >= submitted_at),
  -- Segregation of duties: whoever asked for the purchase may not approve it.
  CONSTRAINT purchase_orders_four_eyes CHECK (approved_by IS NULL OR requested_by IS NULL OR approved_by <> requested_by),
  CONSTRAINT purchase_orders_cancelled CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);
CREATE UNIQUE INDEX purchase_orders_number_active_uq ON procurement.purchase_orders (property_id, po_number) WHERE deleted_at IS NULL;
CREATE INDEX purchase_orders_property_status_idx ON procurement.purchase_orders (property_id, status, expected_date) WHERE deleted_at IS NULL;
CREATE INDEX purchase_orders_supplier_idx ON procurement.purchase_orders (supplier_id, order_date);
CREATE INDEX purchase_orders_department_idx ON procurement.purchase_orders (department_id);
CREATE INDEX purchase_orders_requested_by_idx ON procurement.purchase_orders (requested_by);
CREATE INDEX purchase_orders_approved_by_idx ON procurement.purchase_orders (approved_by);
SELECT shared.setup_tenant_table('procurement.purchase_orders');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON procurement.purchase_orders FOR EACH ROW
  EXECUTE FUNCTION shared.publish_domain_event('purchase_order');

CREATE TABLE procurement.purchase_order_lines (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id        uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  purchase_order_id  uuid NOT NULL REFERENCES procurement.purchase_orders (id),
  line_number        integer NOT NULL CHECK (line_number > 0),
  -- NULL for non-stock purchases (a service call-out, a one-off spare part).
  stock_item_id      uuid REFERENCES procurement.stock_items (id),
  description        text NOT NULL,
  quantity_ordered   numeric(12, 3) NOT NULL CHECK (quantity_ordered > 0),
  unit_of_measure    text NOT NULL,   -- as ordered from the supplier ('case'), may differ from the stock unit
  unit_price         shared.amount NOT NULL,
  tax_rate_percent   numeric(5, 2) NOT NULL DEFAULT 0 CHECK (tax_rate_percent BETWEEN 0 AND 100),
  line_amount        numeric(14, 2) GENERATED ALWAYS AS (round(quantity_ordered * unit_price, 2)) STORED,
  -- Maintained when goods receipts are posted; short deliveries leave the line (and PO) partially received.
  quantity_received  numeric(12, 3) NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  CONSTRAINT purchase_order_lines_received CHECK (quantity_received >= 0 AND quantity_received <= quantity_ordered),
  -- Target of the composite FK from goods_receipt_lines (the receipt line must belong to the same PO).
  CONSTRAINT purchase_order_lines_id_po_uq UNIQUE (id, purchase_order_id)
);
CREATE UNIQUE INDEX purchase_order_lines_number_active_uq ON procurement.purchase_order_lines (purchase_order_id, line_number) WHERE deleted_at IS NULL;
CREATE INDEX purchase_order_lines_purchase_order_idx ON procurement.purchase_order_lines (purchase_order_id);
CREATE INDEX purchase_order_lines_property_item_idx ON procurement.purchase_order_lines (property_id, stock_item_id) WHERE deleted_at IS NULL;
CREATE INDEX purchase_order_lines_stock_item_idx ON procurement.purchase_order_lines (stock_item_id);
SELECT shared.setup_tenant_table('procurement.purchase_order_lines');

-- A delivery checked in at the loading dock against one purchase order.
CREATE TABLE procurement.goods_receipts (
  id                       uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id              uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  receipt_number           text NOT NULL,
  purchase_order_id        uuid NOT NULL REFERENCES procurement.purchase_orders (id),
  received_at              timestamptz NOT NULL DEFAULT now(),
  received_by              uuid NOT NULL REFERENCES shared.users (id),   -- the receiving clerk who signed the delivery note
  delivery_note_number     text,
  supplier_invoice_number  text,            -- three-way match: PO, receipt, invoice
  -- Chilled/frozen deliveries are probed at the dock; out-of-range loads are refused (HACCP log).
  delivery_temperature_c   numeric(4, 1) CHECK (delivery_temperature_c IS NULL OR delivery_temperature_c BETWEEN -40 AND 60),
  status                   text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'posted', 'cancelled')),
  posted_at                timestamptz,
  notes                    text,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  created_by               uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by               uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at               timestamptz,
  version                  integer NOT NULL DEFAULT 1,
  CONSTRAINT goods_receipts_posted CHECK ((status = 'posted') = (posted_at IS NOT NULL)),
  CONSTRAINT goods_receipts_posted_after_receipt CHECK (posted_at IS NULL OR posted_at >= received_at),
  CONSTRAINT goods_receipts_id_po_uq UNIQUE (id, purchase_order_id)
);
CREATE UNIQUE INDEX goods_receipts_number_active_uq ON procurement.goods_receipts (property_id, receipt_number) WHERE deleted_at IS NULL;
CREATE INDEX goods_receipts_property_received_idx ON procurement.goods_receipts (property_id, received_at, status) WHERE deleted_at IS NULL;
CREATE INDEX goods_receipts_purchase_order_idx ON procurement.goods_receipts (purchase_order_id);
CREATE INDEX goods_receipts_received_by_idx ON procurement.goods_receipts (received_by);
CREATE INDEX goods_receipts_invoice_idx ON procurement.goods_receipts (property_id, supplier_invoice_number) WHERE supplier_invoice_number IS NOT NULL;
SELECT shared.setup_tenant_table('procurement.goods_receipts');

CREATE TABLE procurement.goods_receipt_lines (
  id                      uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id             uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  goods_receipt_id        uuid NOT NULL,
  purchase_order_id       uuid NOT NULL,
  purchase_order_line_id  uuid NOT NULL,
  stock_item_id           uuid REFERENCES procurement.stock_items (id),
  -- Quantities in the PO line's unit. Rejected goods go back on the supplier's truck.
  quantity_accepted       numeric(12, 3) NOT NULL CHECK (quantity_accepted >= 0),
  quantity_rejected       numeric(12, 3) NOT NULL DEFAULT 0 CHECK (quantity_rejected >= 0),
  rejection_reason        text CHECK (rejection_reason IS NULL OR rejection_reason IN ('damaged', 'wrong_item', 'short_dated', 'expired',
                                                                                   'temperature', 'quality', 'not_ordered', 'other')),
  unit_cost               shared.amount NOT NULL,   -- as invoiced; may differ from the PO price (price variance)
  lot_number              text,            -- traceability for food recalls
  expiry_date             date,            -- first-expired-first-out in the stores
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  created_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1,
  CONSTRAINT goods_receipt_lines_quantity CHECK (quantity_accepted + quantity_rejected > 0),
  CONSTRAINT goods_receipt_lines_rejection CHECK ((quantity_rejected > 0) = (rejection_reason IS NOT NULL)),
  -- The receipt and the PO line must belong to the same purchase order.
  CONSTRAINT goods_receipt_lines_receipt_fk FOREIGN KEY (goods_receipt_id, purchase_order_id)
    REFERENCES procurement.goods_receipts (id, purchase_order_id),
  CONSTRAINT goods_receipt_lines_po_line_fk FOREIGN KEY (purchase_order_line_id, purchase_order_id)
    REFERENCES procurement.purchase_order_lines (id, purchase_order_id)
);
CREATE UNIQUE INDEX goods_receipt_lines_po_line_active_uq ON procurement.goods_receipt_lines (goods_receipt_id, purchase_order_line_id)
  WHERE deleted_at IS NULL;
CREATE INDEX goods_receipt_lines_receipt_idx ON procurement.goods_receipt_lines (goods_receipt_id, purchase_order_id);
CREATE INDEX goods_receipt_lines_po_line_idx ON procurement.goods_receipt_lines (purchase_order_line_id, purchase_order_id);
CREATE INDEX goods_receipt_lines_purchase_order_idx ON procurement.goods_receipt_lines (purchase_order_id);
CREATE INDEX goods_receipt_lines_stock_item_idx ON procurement.goods_receipt_lines (stock_item_id);
-- Food recall: "where did lot X go?"
CREATE INDEX goods_receipt_lines_property_lot_idx ON procurement.goods_receipt_lines (property_id, lot_number)
  WHERE lot_number IS NOT NULL AND deleted_at IS NULL;
SELECT shared.setup_tenant_table('procurement.goods_receipt_lines');

-- Departments draw stock from the stores (or ask purchasing to buy) with a signed requisition.
CREATE TABLE procurement.requisitions (
  id                  uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id         uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  requisition_number  text NOT NULL,
  department_id       uuid NOT NULL,   -- operations.departments(id): another context, id only
  requested_by        uuid NOT NULL REFERENCES shared.users (id),
  needed_by           date,
  status              text NOT NULL DEFAULT 'draft'
                      CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'partially_issued', 'issued', 'ordered', 'cancelled')),
  approved_by         uuid REFERENCES shared.users (id),
  approved_at         timestamptz,
  -- Set when the stores could not fill it and purchasing ordered the goods instead.
  purchase_order_id   uuid REFERENCES procurement.purchase_orders (id),
  notes               text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  created_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at          timestamptz,
  version             integer NOT NULL DEFAULT 1,
  CONSTRAINT requisitions_approved CHECK (status NOT IN ('approved', 'partially_issued', 'issued', 'ordered')
                                          OR (approved_by IS NOT NULL AND approved_at IS NOT NULL)),
  CONSTRAINT requisitions_four_eyes CHECK (approved_by IS NULL OR approved_by <> requested_by),
  CONSTRAINT requisitions_ordered CHECK (status <> 'ordered' OR purchase_order_id IS NOT NULL)
);
CREATE UNIQUE INDEX requisitions_number_active_uq ON procurement.requisitions (property_id, requisition_number) WHERE deleted_at IS NULL;
CREATE INDEX requisitions_property_status_idx ON procurement.requisitions (property_id, status, needed_by) WHERE deleted_at IS NULL;
CREATE INDEX requisitions_department_idx ON procurement.requisitions (department_id);
CREATE INDEX requisitions_requested_by_idx ON procurement.requisitions (requested_by);
CREATE INDEX requisitions_approved_by_idx ON procurement.requisitions (approved_by);
CREATE INDEX requisitions_purchase_order_idx ON procurement.requisitions (purchase_order_id);
SELECT shared.setup_tenant_table('procurement.requisitions');

CREATE TABLE procurement.requisition_lines (
  id                  uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id         uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  requisition_id      uuid NOT NULL REFERENCES procurement.requisitions (id),
  stock_item_id       uuid NOT NULL REFERENCES procurement.stock_items (id),
  quantity_requested  numeric(12, 3) NOT NULL CHECK (quantity_requested > 0),   -- in the item's stock unit
  quantity_issued     numeric(12, 3) NOT NULL DEFAULT 0,
  notes               text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  created_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at          timestamptz,
  version             integer NOT NULL DEFAULT 1,
  CONSTRAINT requisition_lines_issued CHECK (quantity_issued >= 0 AND quantity_issued <= quantity_requested)
);
CREATE UNIQUE INDEX requisition_lines_item_active_uq ON procurement.requisition_lines (requisition_id, stock_item_id) WHERE deleted_at IS NULL;
CREATE INDEX requisition_lines_requisition_idx ON procurement.requisition_lines (requisition_id);
CREATE INDEX requisition_lines_property_item_idx ON procurement.requisition_lines (property_id, stock_item_id) WHERE deleted_at IS NULL;
CREATE INDEX requisition_lines_stock_item_idx ON procurement.requisition_lines (stock_item_id);
SELECT shared.setup_tenant_table('procurement.requisition_lines');

-- The stock ledger: on-hand is the sum of movements (signed, in the item's stock unit). Mistakes
-- are corrected with an adjustment, so the stock card and the month-end stocktake reconcile.
CREATE TABLE procurement.stock_movements (
  id                     uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id            uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  stock_item_id          uuid NOT NULL REFERENCES procurement.stock_items (id),
  movement_type          text NOT NULL CHECK (movement_type IN ('in', 'out', 'adjustment', 'waste')),
  quantity               numeric(12, 3) NOT NULL CHECK (quantity <> 0),
  unit_cost              shared.amount,
  currency               shared.currency_code,
  moved_at               timestamptz NOT NULL DEFAULT now(),
  storage_location       text,
  -- What caused it (at most one): a receipt line, a requisition issue, or another context's order.
  goods_receipt_line_id  uuid REFERENCES procurement.goods_receipt_lines (id),
  requisition_line_id    uuid REFERENCES procurement.requisition_lines (id),
  fb_order_id            uuid,            -- fb.orders(id) consuming the stock: another context, id only
  work_order_id          uuid,            -- operations.work_orders(id) using the spare part: another context, id only
  -- Required for adjustments (stocktake variance) and waste (spoilage, breakage): food-cost control.
  reason                 text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  created_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at             timestamptz,
  version                integer NOT NULL DEFAULT 1,
  CONSTRAINT stock_movements_sign CHECK (CASE movement_type WHEN 'in' THEN quantity > 0
                                                            WHEN 'out' THEN quantity < 0
                                                            WHEN 'waste' THEN quantity < 0
                                                            ELSE true END),
  CONSTRAINT stock_movements_reason CHECK (movement_type NOT IN ('adjustment', 'waste') OR reason IS NOT NULL),
  CONSTRAINT stock_movements_one_source CHECK (num_nonnulls(goods_receipt_line_id, requisition_line_id, fb_order_id, work_order_id) <= 1),
  CONSTRAINT stock_movements_receipt_is_in CHECK (goods_receipt_line_id IS NULL OR movement_type = 'in'),
  CONSTRAINT stock_movements_cost_currency CHECK (unit_cost IS NULL OR currency IS NOT NULL)
);
-- The stock card of an item (and on-hand as of a date).
CREATE INDEX stock_movements_property_item_idx ON procurement.stock_movements (property_id, stock_item_id, moved_at) WHERE deleted_at IS NULL;
CREATE INDEX stock_movements_property_type_idx ON procurement.stock_movements (property_id, movement_type, moved_at) WHERE deleted_at IS NULL;
CREATE INDEX stock_movements_stock_item_idx ON procurement.stock_movements (stock_item_id);
CREATE INDEX stock_movements_receipt_line_idx ON procurement.stock_movements (goods_receipt_line_id);
CREATE INDEX stock_movements_requisition_line_idx ON procurement.stock_movements (requisition_line_id);
CREATE INDEX stock_movements_fb_order_idx ON procurement.stock_movements (fb_order_id);
CREATE INDEX stock_movements_work_order_idx ON procurement.stock_movements (work_order_id);
SELECT shared.setup_tenant_table('procurement.stock_movements');

-- On-hand per item and whether it is due for reordering. security_invoker: the caller's RLS applies.
CREATE VIEW procurement.stock_on_hand WITH (security_invoker = true) AS
SELECT i.property_id, i.id AS stock_item_id, i.sku, i.name, i.unit_of_measure, i.par_level, i.reorder_point,
       COALESCE(m.on_hand, 0) AS on_hand,
       COALESCE(m.on_hand, 0) <= i.reorder_point AS reorder_due
FROM procurement.stock_items i
LEFT JOIN (SELECT stock_item_id, sum(quantity) AS on_hand FROM procurement.stock_movements
           WHERE deleted_at IS NULL GROUP BY stock_item_id) m ON m.stock_item_id = i.id
WHERE i.deleted_at IS NULL;
GRANT SELECT ON procurement.stock_on_hand TO authenticated_user, stayos_service;
