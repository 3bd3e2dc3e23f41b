-- GT-Vision's PostgreSQL roles and what each may do, in the database psql is connected to.
--
--   gtv_admin_owner       owns admin, cidades and Django's tables in public; runs
--                         `manage.py migrate`
--   gtv_streaming_owner   owns streaming and ai; runs `python -m streaming_service.migrate`
--   gtv_admin             the admin service at run time: SELECT/INSERT/UPDATE/DELETE on its
--                         tables, nothing on streaming/ai, never DDL
--   gtv_streaming         the streaming service and its workers at run time: the same on
--                         streaming/ai, nothing on admin/cidades; monthly partitions come
--                         from SECURITY DEFINER functions the owner installs
--
-- None is a superuser, creates databases or roles, replicates or bypasses row security.
-- The runtime roles own nothing (an owner may disable triggers and ignores grants) and may
-- only SELECT and INSERT admin.audit_entries (plus setting actor_id to NULL when a user is
-- deleted, which the append-only trigger allows); its TRUNCATE trigger refuses even owners.
--
-- Idempotent, and it re-asserts every attribute and grant: run it as a superuser before
-- the migrations on every deploy (docker compose's db-roles service, tools/scripts/
-- ensure_services.sh, tools/db_roles.py for the demo and the tests). It also adopts
-- objects an earlier version created as another role (a superuser).
--
--   psql -v ON_ERROR_STOP=1 -d gtvision -f deploy/postgres/roles.sql
--
-- Passwords are read from the environment, never the command line:
-- GTV_DB_ADMIN_OWNER_PASSWORD, GTV_DB_ADMIN_PASSWORD, GTV_DB_STREAMING_OWNER_PASSWORD,
-- GTV_DB_STREAMING_PASSWORD. An unset or empty one leaves that role's password as it is
-- (a local cluster with trust authentication needs none).

\set ON_ERROR_STOP 1
\getenv admin_owner_password GTV_DB_ADMIN_OWNER_PASSWORD
\getenv admin_password GTV_DB_ADMIN_PASSWORD
\getenv streaming_owner_password GTV_DB_STREAMING_OWNER_PASSWORD
\getenv streaming_password GTV_DB_STREAMING_PASSWORD

BEGIN;
SET LOCAL client_min_messages = warning;

-- Roles belong to the whole cluster: runs against several databases at once (parallel
-- test sessions) take turns here instead of failing with "tuple concurrently updated".
LOCK TABLE pg_catalog.pg_authid IN SHARE ROW EXCLUSIVE MODE;
-- Two runs against the same database take turns over its grants.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('gtv-db-roles')); END $$;

DO $$
DECLARE
    name text;
    membership record;
BEGIN
    FOREACH name IN ARRAY ARRAY['gtv_admin_owner', 'gtv_admin',
                                'gtv_streaming_owner', 'gtv_streaming'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', name);
        END IF;
        EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                       'NOREPLICATION NOBYPASSRLS', name);
        -- A membership would lend another role's rights (SET ROLE gtv_admin_owner).
        FOR membership IN
            SELECT m.roleid::regrole AS granted
            FROM pg_auth_members m WHERE m.member = name::regrole
        LOOP
            EXECUTE format('REVOKE %s FROM %I', membership.granted, name);
        END LOOP;
    END LOOP;
END $$;

\if :{?admin_owner_password}
SELECT format('ALTER ROLE gtv_admin_owner PASSWORD %L', :'admin_owner_password')
WHERE :'admin_owner_password' <> '' \gexec
\endif
\if :{?admin_password}
SELECT format('ALTER ROLE gtv_admin PASSWORD %L', :'admin_password')
WHERE :'admin_password' <> '' \gexec
\endif
\if :{?streaming_owner_password}
SELECT format('ALTER ROLE gtv_streaming_owner PASSWORD %L', :'streaming_owner_password')
WHERE :'streaming_owner_password' <> '' \gexec
\endif
\if :{?streaming_password}
SELECT format('ALTER ROLE gtv_streaming PASSWORD %L', :'streaming_password')
WHERE :'streaming_password' <> '' \gexec
\endif

-- The database: only GT-Vision's roles connect; the owners may create schemas (the
-- migrations say CREATE SCHEMA IF NOT EXISTS) and trusted extensions.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM gtv_admin, gtv_streaming',
                   current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO gtv_admin, gtv_streaming, '
                   'gtv_admin_owner, gtv_streaming_owner', current_database());
    EXECUTE format('GRANT CREATE ON DATABASE %I TO gtv_admin_owner, gtv_streaming_owner',
                   current_database());
END $$;

-- Plate similarity search (ai.detections); installing an extension needs a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Django keeps its own tables (django_migrations, auth_*, django_session, ...) in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM gtv_admin, gtv_streaming, gtv_streaming_owner;
GRANT USAGE, CREATE ON SCHEMA public TO gtv_admin_owner;

DO $$
DECLARE
    area record;
    obj record;
    other text;
BEGIN
    FOR area IN
        SELECT * FROM (VALUES
            ('admin', 'gtv_admin_owner', 'gtv_admin', 'gtv_streaming'),
            ('cidades', 'gtv_admin_owner', 'gtv_admin', 'gtv_streaming'),
            ('public', 'gtv_admin_owner', 'gtv_admin', 'gtv_streaming'),
            ('streaming', 'gtv_streaming_owner', 'gtv_streaming', 'gtv_admin'),
            ('ai', 'gtv_streaming_owner', 'gtv_streaming', 'gtv_admin')
        ) AS t(schema_name, owner, runtime, stranger)
    LOOP
        IF area.schema_name <> 'public' THEN
            EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I',
                           area.schema_name, area.owner);
            EXECUTE format('ALTER SCHEMA %I OWNER TO %I', area.schema_name, area.owner);
            EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', area.schema_name);
            FOREACH other IN ARRAY ARRAY['gtv_admin_owner', 'gtv_admin',
                                         'gtv_streaming_owner', 'gtv_streaming'] LOOP
                IF other <> area.owner THEN
                    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', area.schema_name, other);
                END IF;
            END LOOP;
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', area.schema_name, area.runtime);
        END IF;

        -- Adopt what another role (a superuser, before these roles existed) created.
        -- Indexes and column-owned sequences follow their table.
        FOR obj IN
            SELECT c.oid::regclass AS name,
                   CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                  WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind
            FROM pg_class c
            WHERE c.relnamespace = area.schema_name::regnamespace
              AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND c.relowner <> area.owner::regrole
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND d.deptype = 'e')
        LOOP
            EXECUTE format('ALTER %s %s OWNER TO %I', obj.kind, obj.name, area.owner);
        END LOOP;
        FOR obj IN
            SELECT c.oid::regclass AS name
            FROM pg_class c
            WHERE c.relnamespace = area.schema_name::regnamespace AND c.relkind = 'S'
              AND c.relowner <> area.owner::regrole
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND d.deptype IN ('a', 'i', 'e'))
        LOOP
            EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', obj.name, area.owner);
        END LOOP;
        FOR obj IN
            SELECT p.oid::regprocedure AS name
            FROM pg_proc p
            WHERE p.pronamespace = area.schema_name::regnamespace
              AND p.proowner <> area.owner::regrole
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                              WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                AND d.deptype = 'e')
        LOOP
            EXECUTE format('ALTER ROUTINE %s OWNER TO %I', obj.name, area.owner);
        END LOOP;

        -- The runtime role: rows, never structure; the other service's role: nothing.
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I, %I',
                       area.schema_name, area.runtime, area.stranger);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                       area.schema_name, area.runtime);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I, %I',
                       area.schema_name, area.runtime, area.stranger);
        EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I',
                       area.schema_name, area.runtime);
        IF area.schema_name <> 'public' THEN  -- public's functions are pg_trgm's
            EXECUTE format('REVOKE ALL ON ALL ROUTINES IN SCHEMA %I FROM PUBLIC, %I',
                           area.schema_name, area.stranger);
            EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA %I TO %I',
                           area.schema_name, area.runtime);
        END IF;
    END LOOP;

    -- The audit log is append-only: reading and adding rows, and the one UPDATE Django
    -- issues when a user is deleted (actor_id becomes NULL; the trigger allows only that).
    IF to_regclass('admin.audit_entries') IS NOT NULL THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON admin.audit_entries FROM gtv_admin;
        GRANT UPDATE (actor_id) ON admin.audit_entries TO gtv_admin;
    END IF;
END $$;

-- What the migrations create later gets the same grants: the owner's default privileges.
ALTER DEFAULT PRIVILEGES FOR ROLE gtv_admin_owner
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO gtv_admin;
ALTER DEFAULT PRIVILEGES FOR ROLE gtv_admin_owner
    GRANT USAGE, SELECT ON SEQUENCES TO gtv_admin;
ALTER DEFAULT PRIVILEGES FOR ROLE gtv_admin_owner REVOKE EXECUTE ON ROUTINES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE gtv_admin_owner GRANT EXECUTE ON ROUTINES TO gtv_admin;

ALTER DEFAULT PRIVILEGES FOR ROLE gtv_streaming_owner
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO gtv_streaming;
ALTER DEFAULT PRIVILEGES FOR ROLE gtv_streaming_owner
    GRANT USAGE, SELECT ON SEQUENCES TO gtv_streaming;
ALTER DEFAULT PRIVILEGES FOR ROLE gtv_streaming_owner REVOKE EXECUTE ON ROUTINES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE gtv_streaming_owner
    GRANT EXECUTE ON ROUTINES TO gtv_streaming;

COMMIT;
