-- Billing & Payments context: tax rates, folios and their postings, stored cards, payments (event-
-- sourced: chargebacks are argued months later from the exact authorization/capture/refund history)
-- and legally numbered invoices. Reservations, guests and F&B orders: ids only, no foreign keys.

-- ---------------------------------------------------------------------------------------------
-- Tax rates. A rate change (VAT 19 % -> 16 %) is a new code ('VAT19' closed by valid_to, 'VAT16' from
-- valid_from): postings keep pointing at the rate they were charged with, so old folios still add up.
CREATE TABLE billing.tax_rates (
  id          uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  code        text NOT NULL CHECK (code ~ '^[A-Z0-9_-]{1,20}$'),
  name        text NOT NULL,
  applies_to  text NOT NULL CHECK (applies_to IN ('room', 'fb', 'service', 'city_tax')),
  -- Most taxes are a percentage; city taxes are usually a flat amount per person (or room) per night.
  calculation text NOT NULL DEFAULT 'percentage'
              CHECK (calculation IN ('percentage', 'per_person_night', 'per_room_night')),
  percentage  numeric(7, 4) CHECK (percentage IS NULL OR percentage BETWEEN 0 AND 100),
  flat_amount shared.amount,
  currency    shared.currency_code,
  -- Inclusive: the price already contains the tax (EU B2C prices); exclusive: added on top (US).
  inclusive   boolean NOT NULL DEFAULT true,
  valid_from  date NOT NULL,
  valid_to    date,            -- last day the rate applies; NULL = until further notice
  ledger_account text,         -- general-ledger account the night audit exports this tax to
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  created_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1,
  CONSTRAINT tax_rates_validity CHECK (valid_to IS NULL OR valid_to >= valid_from),
  CONSTRAINT tax_rates_calculation CHECK (
    (calculation = 'percentage' AND percentage IS NOT NULL AND flat_amount IS NULL)
    OR (calculation <> 'percentage' AND flat_amount IS NOT NULL AND currency IS NOT NULL AND percentage IS NULL))
);
CREATE UNIQUE INDEX tax_rates_code_active_uq ON billing.tax_rates (property_id, code) WHERE deleted_at IS NULL;
CREATE INDEX tax_rates_property_applies_idx ON billing.tax_rates (property_id, applies_to, valid_from)
  WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('billing.tax_rates');

-- Folios: the bills. A stay may split its bill over windows (company pays the room, guest the
-- extras); master folios collect a group's charges; city ledger = receivables billed after departure.
CREATE TABLE billing.folios (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  folio_number   text NOT NULL,
  folio_type     text NOT NULL DEFAULT 'guest' CHECK (folio_type IN ('guest', 'master', 'city_ledger', 'incidental')),
  reservation_id uuid,            -- reservation.reservations(id): another context, id only
  guest_id       uuid,            -- guest.guests(id): another context, id only
  account_name   text,            -- company / travel agent billed on a city-ledger or master folio
  window_number  smallint NOT NULL DEFAULT 1 CHECK (window_number BETWEEN 1 AND 8),
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'settled', 'void')),
  currency       shared.currency_code NOT NULL,
  -- Charges minus payments. NOT shared.amount: a deposit larger than what was consumed leaves the
  -- folio in credit (negative) until refunded. The posting service updates it in the same transaction
  -- as each posting; billing.folio_ledger_balances recomputes it for the night audit's reconciliation.
  balance        numeric(14, 2) NOT NULL DEFAULT 0,
  credit_limit   shared.amount,   -- exceeding it alerts the front desk to take a further authorization
  opened_at      timestamptz NOT NULL DEFAULT now(),
  closed_at      timestamptz,
  notes          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  -- Unique (id, currency) lets postings prove by foreign key that they are in the folio's currency.
  CONSTRAINT folios_id_currency_uq UNIQUE (id, currency),
  CONSTRAINT folios_closed_after_opened CHECK (closed_at IS NULL OR closed_at >= opened_at),
  -- Reopening a folio for a late charge (minibar found after checkout) clears closed_at again.
  CONSTRAINT folios_closed_iff_not_open CHECK ((status = 'open') = (closed_at IS NULL)),
  CONSTRAINT folios_settled_zero CHECK (status <> 'settled' OR balance = 0),
  CONSTRAINT folios_guest_has_reservation CHECK (folio_type <> 'guest' OR reservation_id IS NOT NULL),
  CONSTRAINT folios_city_ledger_has_account CHECK (folio_type <> 'city_ledger' OR account_name IS NOT NULL)
);
CREATE UNIQUE INDEX folios_number_active_uq ON billing.folios (property_id, folio_number) WHERE deleted_at IS NULL;
CREATE INDEX folios_property_status_idx ON billing.folios (property_id, status) WHERE deleted_at IS NULL;
CREATE INDEX folios_reservation_idx ON billing.folios (reservation_id) WHERE reservation_id IS NOT NULL;
CREATE INDEX folios_guest_idx ON billing.folios (guest_id) WHERE guest_id IS NOT NULL;
SELECT shared.setup_tenant_table('billing.folios');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON billing.folios FOR EACH ROW
  EXECUTE FUNCTION shared.publish_domain_event('folio');

-- Postings on a folio. Never edited: a mistake gets a reversal line pointing at the original, so a
-- closed business date's revenue never moves. Amounts are positive; is_reversal gives the sign.
CREATE TABLE billing.folio_charges (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id        uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  folio_id           uuid NOT NULL REFERENCES billing.folios (id),
  posting_date       date NOT NULL,   -- the hotel's business date (night audit), not the calendar date
  posted_at          timestamptz NOT NULL DEFAULT now(),
  charge_code        text NOT NULL CHECK (charge_code ~ '^[A-Z0-9_-]{1,20}$'),  -- transaction code, e.g. ROOM, MINIBAR
  description        text NOT NULL,
  quantity           numeric(10, 3) NOT NULL DEFAULT 1 CHECK (quantity > 0),
  unit_amount        shared.amount NOT NULL,
  tax_rate_id        uuid REFERENCES billing.tax_rates (id),
  tax_amount         shared.amount NOT NULL DEFAULT 0,
  total              shared.amount NOT NULL,
  currency           shared.currency_code NOT NULL,
  revenue_department text NOT NULL CHECK (revenue_department IN ('room', 'fb', 'spa', 'misc')),
  source_type        text NOT NULL DEFAULT 'manual'
                     CHECK (source_type IN ('manual', 'night_audit', 'fb_order', 'spa', 'minibar', 'interface', 'transfer')),
  source_id          uuid,            -- e.g. fb.orders(id) when source_type = 'fb_order': another context, id only
  is_reversal        boolean NOT NULL DEFAULT false,
  reverses_charge_id uuid REFERENCES billing.folio_charges (id),
  reason             text,            -- why a reversal or manual adjustment was made (auditors ask)
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  -- A charge is in its folio's currency (foreign-currency spend is converted before posting).
  CONSTRAINT folio_charges_folio_currency_fk FOREIGN KEY (folio_id, currency) REFERENCES billing.folios (id, currency),
  CONSTRAINT folio_charges_reversal_link CHECK (is_reversal = (reverses_charge_id IS NOT NULL)),
  CONSTRAINT folio_charges_not_self_reversal CHECK (reverses_charge_id IS NULL OR reverses_charge_id <> id),
  CONSTRAINT folio_charges_reversal_reason CHECK (NOT is_reversal OR reason IS NOT NULL),
  -- total = quantity x unit price, plus the tax when the tax is exclusive (added on top).
  CONSTRAINT folio_charges_total CHECK (
    total = round(quantity * unit_amount, 2) OR total = round(quantity * unit_amount, 2) + tax_amount),
  CONSTRAINT folio_charges_tax_needs_rate CHECK (tax_amount = 0 OR tax_rate_id IS NOT NULL),
  CONSTRAINT folio_charges_source CHECK (source_type IN ('manual', 'night_audit') OR source_id IS NOT NULL)
);
CREATE INDEX folio_charges_folio_idx ON billing.folio_charges (folio_id, posting_date);
CREATE INDEX folio_charges_tax_rate_idx ON billing.folio_charges (tax_rate_id);
-- A charge can be reversed only once (a second reversal would credit the guest twice).
CREATE UNIQUE INDEX folio_charges_reversal_uq ON billing.folio_charges (reverses_charge_id) WHERE deleted_at IS NULL;
CREATE INDEX folio_charges_reverses_idx ON billing.folio_charges (reverses_charge_id);
-- The night audit's revenue report: per business date and department.
CREATE INDEX folio_charges_revenue_idx ON billing.folio_charges (property_id, posting_date, revenue_department)
  WHERE deleted_at IS NULL;
-- "Was this F&B check already posted to the room?": posting idempotency for interfaces.
CREATE UNIQUE INDEX folio_charges_source_uq ON billing.folio_charges (property_id, source_type, source_id)
  WHERE source_id IS NOT NULL AND NOT is_reversal AND deleted_at IS NULL;
SELECT shared.setup_tenant_table('billing.folio_charges');

-- Stored cards (guarantees, OTA virtual cards). PAN and name are ciphertexts (shared.encrypt_pii, key
-- outside the database). CVV/CVC is NEVER stored, not even encrypted (PCI DSS 3.2.1).
CREATE TABLE billing.payment_methods (
  id                        uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id               uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  guest_id                  uuid,            -- guest.guests(id): another context, id only
  reservation_id            uuid,            -- reservation.reservations(id): a virtual card belongs to one booking
  card_number_encrypted     shared.pgp_ciphertext NOT NULL,
  cardholder_name_encrypted shared.pgp_ciphertext,
  card_last4                text NOT NULL CHECK (card_last4 ~ '^\d{4}$'),   -- printed on receipts, shown to staff
  card_brand                text NOT NULL
                            CHECK (card_brand IN ('visa', 'mastercard', 'amex', 'discover', 'diners', 'jcb', 'unionpay', 'maestro', 'other')),
  expiry_month              smallint NOT NULL CHECK (expiry_month BETWEEN 1 AND 12),
  expiry_year               smallint NOT NULL CHECK (expiry_year BETWEEN 2000 AND 2100),
  -- shared.pii_fingerprint(number, key): recognises the same card across guests and stays without decrypting.
  card_fingerprint          text NOT NULL CHECK (card_fingerprint ~ '^[0-9a-f]{64}$'),
  psp_token                 text,            -- the PSP's token: charges should use it instead of the PAN
  -- OTA virtual cards (Expedia Collect / Booking.com Payments VCC): chargeable only from an activation
  -- date and only up to the amount the OTA loaded; charging early or above it is declined.
  is_virtual                boolean NOT NULL DEFAULT false,
  virtual_card_source       text CHECK (virtual_card_source IS NULL OR virtual_card_source IN ('expedia', 'booking_com', 'other_ota')),
  virtual_activation_date   date,
  virtual_amount_limit      shared.amount,
  virtual_currency          shared.currency_code,
  is_default                boolean NOT NULL DEFAULT false,
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  created_by                uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by                uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at                timestamptz,
  version                   integer NOT NULL DEFAULT 1,
  CONSTRAINT payment_methods_owner CHECK (guest_id IS NOT NULL OR reservation_id IS NOT NULL),
  CONSTRAINT payment_methods_virtual_fields CHECK (
    (is_virtual AND virtual_card_source IS NOT NULL AND reservation_id IS NOT NULL)
    OR (NOT is_virtual AND virtual_card_source IS NULL AND virtual_activation_date IS NULL
        AND virtual_amount_limit IS NULL AND virtual_currency IS NULL)),
  CONSTRAINT payment_methods_virtual_limit_currency CHECK (virtual_amount_limit IS NULL OR virtual_currency IS NOT NULL)
);
-- The same card is stored once per guest; a new one replaces it (soft-delete the old row).
CREATE UNIQUE INDEX payment_methods_guest_card_uq ON billing.payment_methods (property_id, guest_id, card_fingerprint)
  WHERE deleted_at IS NULL AND guest_id IS NOT NULL;
CREATE UNIQUE INDEX payment_methods_default_uq ON billing.payment_methods (property_id, guest_id)
  WHERE is_default AND deleted_at IS NULL AND guest_id IS NOT NULL;
CREATE INDEX payment_methods_guest_idx ON billing.payment_methods (guest_id) WHERE guest_id IS NOT NULL;
CREATE INDEX payment_methods_reservation_idx ON billing.payment_methods (reservation_id) WHERE reservation_id IS NOT NULL;
CREATE INDEX payment_methods_fingerprint_idx ON billing.payment_methods (property_id, card_fingerprint) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('billing.payment_methods', ARRAY['card_number_encrypted', 'cardholder_name_encrypted']);

-- Payments: event-sourced. The row is the current state, billing.payment_events (same-transaction
-- trigger) the full history. Never hard-deleted: a wrong payment is voided.
CREATE TABLE billing.payments (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id        uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  folio_id           uuid NOT NULL REFERENCES billing.folios (id),
  payment_method_id  uuid REFERENCES billing.payment_methods (id),   -- NULL for cash, transfer, card-present terminal
  amount             shared.amount NOT NULL CHECK (amount > 0),
  currency           shared.currency_code NOT NULL,
  method             text NOT NULL CHECK (method IN ('card', 'cash', 'bank_transfer', 'ota_collect', 'virtual_card')),
  status             text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'authorized', 'captured', 'refunded', 'partially_refunded', 'failed', 'voided')),
  is_deposit         boolean NOT NULL DEFAULT false,   -- advance deposit taken before arrival
  psp                text,                             -- payment service provider (adyen, stripe, ...)
  psp_reference      text,                             -- the PSP's id: webhooks and disputes are matched on it
  authorization_code text,
  -- Retries of one payment request (timeouts, double clicks) carry the same key and must not charge twice.
  idempotency_key    text,
  authorized_at      timestamptz,
  captured_at        timestamptz,
  refunded_amount    shared.amount NOT NULL DEFAULT 0,
  failure_reason     text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  CONSTRAINT payments_refund_le_amount CHECK (refunded_amount <= amount),
  CONSTRAINT payments_capture_after_auth CHECK (captured_at IS NULL OR authorized_at IS NULL OR captured_at >= authorized_at),
  CONSTRAINT payments_authorized_has_time CHECK (status <> 'authorized' OR authorized_at IS NOT NULL),
  CONSTRAINT payments_captured_has_time CHECK (status NOT IN ('captured', 'refunded', 'partially_refunded') OR captured_at IS NOT NULL),
  CONSTRAINT payments_refund_status CHECK (
    CASE status
      WHEN 'refunded' THEN refunded_amount = amount
      WHEN 'partially_refunded' THEN refunded_amount > 0 AND refunded_amount < amount
      ELSE refunded_amount = 0 END),
  CONSTRAINT payments_failed_reason CHECK (status <> 'failed' OR failure_reason IS NOT NULL),
  CONSTRAINT payments_vcc_has_card CHECK (method <> 'virtual_card' OR payment_method_id IS NOT NULL)
);
CREATE INDEX payments_folio_idx ON billing.payments (folio_id);
CREATE INDEX payments_payment_method_idx ON billing.payments (payment_method_id) WHERE payment_method_id IS NOT NULL;
CREATE INDEX payments_property_status_idx ON billing.payments (property_id, status) WHERE deleted_at IS NULL;
CREATE INDEX payments_psp_reference_idx ON billing.payments (psp_reference) WHERE psp_reference IS NOT NULL;
CREATE UNIQUE INDEX payments_idempotency_uq ON billing.payments (property_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
SELECT shared.setup_tenant_table('billing.payments');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON billing.payments FOR EACH ROW
  EXECUTE FUNCTION shared.publish_domain_event('payment');

-- The Payment event store (append-only; see shared.record_aggregate_event).
CREATE TABLE billing.payment_events (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  aggregate_id uuid NOT NULL REFERENCES billing.payments (id),
  sequence     bigint NOT NULL CHECK (sequence > 0),
  event_type   text NOT NULL,
  payload      jsonb NOT NULL,
  property_id  uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1,
  UNIQUE (aggregate_id, sequence)
);
CREATE INDEX payment_events_property_idx ON billing.payment_events (property_id, created_at);
SELECT shared.attach_standard_triggers('billing.payment_events', with_audit => false);
SELECT shared.make_append_only('billing.payment_events');
SELECT shared.enable_tenant_rls('billing.payment_events', writable => false);

CREATE TRIGGER trg_event_store AFTER INSERT OR UPDATE OR DELETE ON billing.payments FOR EACH ROW
  EXECUTE FUNCTION shared.record_aggregate_event('billing.payment_events', 'id', '');

-- A payment as it stood at a moment (chargeback evidence: "what had been captured on the 3rd?").
CREATE FUNCTION billing.payment_state_at(p_payment_id uuid, p_at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$ SELECT shared.aggregate_state_at('billing.payment_events', p_payment_id, p_at) $$;

-- Invoice numbering. Tax law (EU VAT Directive art. 226; Italy, Spain, Portugal ...) requires one
-- unbroken sequence per issuer and series. A SEQUENCE cannot give that (a rollback burns its value), so
-- each (property, series) has a counter row incremented in the transaction that issues the invoice: its
-- row lock queues concurrent issuers and a rollback undoes the increment. Yearly series: 'INV2025'.
CREATE TABLE billing.invoice_sequences (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  series         text NOT NULL CHECK (series ~ '^[A-Z0-9]{1,12}$'),
  last_number    bigint NOT NULL DEFAULT 0 CHECK (last_number >= 0),
  last_issued_at timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  -- A counter is never retired: deleting it would restart the numbering at 1 (duplicates).
  CONSTRAINT invoice_sequences_never_deleted CHECK (deleted_at IS NULL)
);
-- Not partial: ON CONFLICT (property_id, series) in next_invoice_number() needs the plain key.
CREATE UNIQUE INDEX invoice_sequences_series_uq ON billing.invoice_sequences (property_id, series);
SELECT shared.setup_tenant_table('billing.invoice_sequences');

-- The next number of a series, reserved until the calling transaction ends.
CREATE FUNCTION billing.next_invoice_number(p_property_id uuid, p_series text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  INSERT INTO billing.invoice_sequences (property_id, series) VALUES (p_property_id, p_series)
  ON CONFLICT (property_id, series) DO NOTHING;
  UPDATE billing.invoice_sequences
     SET last_number = last_number + 1, last_issued_at = now()
   WHERE property_id = p_property_id AND series = p_series
  RETURNING last_number INTO n;
  RETURN n;
END $$;

-- Invoices and credit notes (credit_note_for set). Drafts have no number; issuing takes the next one.
-- A numbered invoice is a legal document: frozen, never deleted, only cancelled or credited.
CREATE TABLE billing.invoices (
  id                  uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id         uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  folio_id            uuid REFERENCES billing.folios (id),
  series              text NOT NULL DEFAULT 'INV' CHECK (series ~ '^[A-Z0-9]{1,12}$'),
  sequence_number     bigint CHECK (sequence_number IS NULL OR sequence_number > 0),
  invoice_number      text,            -- series || '-' || zero-padded sequence_number, as printed
  status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'issued', 'cancelled', 'credited')),
  issued_at           timestamptz,
  -- Buyer as printed (name, address, VAT id): a snapshot, unchanged when the guest profile changes.
  buyer               jsonb NOT NULL CHECK (jsonb_typeof(buyer) = 'object' AND buyer ? 'name'),
  currency            shared.currency_code NOT NULL,
  subtotal            shared.amount NOT NULL DEFAULT 0,
  tax_total           shared.amount NOT NULL DEFAULT 0,
  total               shared.amount NOT NULL DEFAULT 0,
  tax_breakdown       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tax_breakdown) = 'array'),  -- per rate, legally required
  payment_terms_days  smallint CHECK (payment_terms_days IS NULL OR payment_terms_days BETWEEN 0 AND 365),
  credit_note_for     uuid REFERENCES billing.invoices (id),
  cancelled_at        timestamptz,
  cancellation_reason text,
  document_key        text,            -- object-storage key of the rendered PDF sent to the buyer
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  created_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at          timestamptz,
  version             integer NOT NULL DEFAULT 1,
  CONSTRAINT invoices_total CHECK (total = subtotal + tax_total),
  CONSTRAINT invoices_numbered_iff_not_draft CHECK ((status = 'draft') = (sequence_number IS NULL)),
  CONSTRAINT invoices_number_text CHECK ((sequence_number IS NULL) = (invoice_number IS NULL)),
  CONSTRAINT invoices_issued_has_time CHECK (status = 'draft' OR issued_at IS NOT NULL),
  CONSTRAINT invoices_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)
                                       AND (status <> 'cancelled' OR cancellation_reason IS NOT NULL)),
  CONSTRAINT invoices_cancel_after_issue CHECK (cancelled_at IS NULL OR cancelled_at >= issued_at),
  CONSTRAINT invoices_not_self_credit CHECK (credit_note_for IS NULL OR credit_note_for <> id),
  -- Only never-numbered drafts may be (soft-)deleted: a used number must stay accounted for.
  CONSTRAINT invoices_delete_drafts_only CHECK (deleted_at IS NULL OR sequence_number IS NULL)
);
-- Unique among ALL rows, not only active ones: an invoice number is never reused.
CREATE UNIQUE INDEX invoices_number_uq ON billing.invoices (property_id, invoice_number);
CREATE UNIQUE INDEX invoices_series_sequence_uq ON billing.invoices (property_id, series, sequence_number);
CREATE INDEX invoices_property_status_idx ON billing.invoices (property_id, status, issued_at) WHERE deleted_at IS NULL;
CREATE INDEX invoices_folio_idx ON billing.invoices (folio_id) WHERE folio_id IS NOT NULL;
CREATE INDEX invoices_credit_note_for_idx ON billing.invoices (credit_note_for) WHERE credit_note_for IS NOT NULL;
CREATE INDEX invoices_buyer_gin ON billing.invoices USING gin (buyer jsonb_path_ops);
SELECT shared.setup_tenant_table('billing.invoices');

-- Numbers issued invoices and keeps them immutable.
CREATE FUNCTION billing.invoice_numbering() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.sequence_number IS NOT NULL THEN
      RAISE EXCEPTION 'invoice % is issued and cannot be deleted; cancel it or issue a credit note', OLD.invoice_number
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.sequence_number IS NOT NULL THEN
    IF (NEW.series, NEW.sequence_number, NEW.invoice_number, NEW.issued_at, NEW.buyer, NEW.currency, NEW.subtotal,
        NEW.tax_total, NEW.total, NEW.tax_breakdown, NEW.folio_id, NEW.credit_note_for)
       IS DISTINCT FROM
       (OLD.series, OLD.sequence_number, OLD.invoice_number, OLD.issued_at, OLD.buyer, OLD.currency, OLD.subtotal,
        OLD.tax_total, OLD.total, OLD.tax_breakdown, OLD.folio_id, OLD.credit_note_for) THEN
      RAISE EXCEPTION 'invoice % is issued: its content cannot change; issue a credit note instead', OLD.invoice_number
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  -- Not numbered yet (INSERT, or UPDATE of a draft).
  IF NEW.sequence_number IS NOT NULL OR NEW.invoice_number IS NOT NULL THEN
    RAISE EXCEPTION 'invoice numbers are assigned by billing.next_invoice_number(), not by the caller'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.status = 'issued' THEN
    NEW.sequence_number := billing.next_invoice_number(NEW.property_id, NEW.series);
    NEW.invoice_number := NEW.series || '-' || lpad(NEW.sequence_number::text, 6, '0');
    NEW.issued_at := COALESCE(NEW.issued_at, now());
  ELSIF NEW.status <> 'draft' THEN
    RAISE EXCEPTION 'a draft invoice can only be issued (or deleted), not set to %', NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_invoice_numbering BEFORE INSERT OR UPDATE OR DELETE ON billing.invoices FOR EACH ROW
  EXECUTE FUNCTION billing.invoice_numbering();

-- The folio balance recomputed from postings, for the night audit. Payments count from capture, net
-- of refunds (foreign-currency payments are converted to the folio's currency by the application).
CREATE VIEW billing.folio_ledger_balances WITH (security_invoker = true) AS
  SELECT f.id AS folio_id, f.property_id, f.balance AS recorded_balance,
         COALESCE(c.charged, 0) - COALESCE(p.paid, 0) AS ledger_balance
  FROM billing.folios f
  LEFT JOIN (SELECT folio_id, sum(CASE WHEN is_reversal THEN -total ELSE total END) AS charged
             FROM billing.folio_charges WHERE deleted_at IS NULL GROUP BY folio_id) c ON c.folio_id = f.id
  LEFT JOIN (SELECT folio_id, sum(amount - refunded_amount) AS paid
             FROM billing.payments
             WHERE deleted_at IS NULL AND status IN ('captured', 'partially_refunded', 'refunded')
             GROUP BY folio_id) p ON p.folio_id = f.id
  WHERE f.deleted_at IS NULL;
GRANT SELECT ON billing.folio_ledger_balances TO authenticated_user, stayos_service;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA billing TO authenticated_user, stayos_service;
