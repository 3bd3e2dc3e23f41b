-- First start of the PostgreSQL container: extensions and the schemas of SPEC §1/§4.
-- Tables are created by the services' migrations (Django for admin/cidades, Alembic for
-- streaming/ai).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS admin;
CREATE SCHEMA IF NOT EXISTS cidades;
CREATE SCHEMA IF NOT EXISTS streaming;
CREATE SCHEMA IF NOT EXISTS ai;
