-- Iceberg JDBC catalog tables, schema version V1, exactly as Iceberg Java's JdbcUtil creates them
-- (V0_CREATE_CATALOG_SQL, CREATE_NAMESPACE_PROPERTIES_TABLE_SQL, then V1_UPDATE_CATALOG_SQL), so
-- Trino (iceberg.catalog.type=jdbc, schema-version V1), Spark's JdbcCatalog and PyIceberg's
-- SqlCatalog pointed at the same database and catalog_name see Floe's tables.
--
-- Only "IF NOT EXISTS" is added, so running this file (or letting Floe run it on start) is
-- idempotent; on a V0 database created by another engine it just adds the iceberg_type column.
-- Trino never creates these tables itself: a DBA can apply this file with
--   psql "$DATABASE_URL" -f catalog/jdbc-catalog.sql
--
-- Floe reads this file at run time (src/commit/jdbc.ts): statements are separated by ';' at the end
-- of a line, and '--' lines are comments.

CREATE TABLE IF NOT EXISTS iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),PRIMARY KEY (catalog_name, table_namespace, table_name));

CREATE TABLE IF NOT EXISTS iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,namespace VARCHAR(255) NOT NULL,property_key VARCHAR(255),property_value VARCHAR(1000),PRIMARY KEY (catalog_name, namespace, property_key));

ALTER TABLE iceberg_tables ADD COLUMN IF NOT EXISTS iceberg_type VARCHAR(5);
