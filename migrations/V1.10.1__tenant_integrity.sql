-- Tenant integrity of references. Foreign-key checks ignore RLS, so a single-column foreign key
-- lets a tenant attach its row to another property's parent (a room into another hotel's
-- reservation). For every foreign key between two tenant tables this adds a composite one,
-- (fk, property_id) → parent (id, property_id), so a child always belongs to its parent's
-- property. Generated from the catalog so that no table is forgotten; the constraints are named
-- tenant_<constraint> and the parents' keys tenant_key_<table>.
DO $$
DECLARE
  fk record;
  parent_key text;
BEGIN
  FOR fk IN
    SELECT k.conname, k.conrelid::regclass AS child, k.confrelid::regclass AS parent,
           a.attname AS fk_column, pc.relname AS parent_name, pn.nspname AS parent_schema
    FROM pg_constraint k
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
    JOIN pg_class pc ON pc.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
    JOIN pg_class cc ON cc.oid = k.conrelid
    WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1 AND k.conparentid = 0 AND NOT cc.relispartition
      AND pn.nspname NOT IN ('shared', 'pg_catalog')
      AND a.attname <> 'property_id'
      AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = k.conrelid AND x.attname = 'property_id' AND NOT x.attisdropped)
      AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = k.confrelid AND x.attname = 'property_id' AND NOT x.attisdropped)
      -- the referenced column must be the parent's id
      AND (SELECT attname FROM pg_attribute WHERE attrelid = k.confrelid AND attnum = k.confkey[1]) = 'id'
      -- partitioned parents cannot take a unique key without their partition column
      AND pc.relkind = 'r'
    ORDER BY 1
  LOOP
    parent_key := 'tenant_key_' || fk.parent_name;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = fk.parent AND conname = parent_key) THEN
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (id, property_id)', fk.parent, parent_key);
    END IF;
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I, property_id) REFERENCES %s (id, property_id)',
                   fk.child, left('tenant_' || fk.conname, 63), fk.fk_column, fk.parent);
  END LOOP;
END $$;
