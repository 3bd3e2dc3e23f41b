"""The audit log refuses TRUNCATE too, and no role but its owner may change or delete rows.

0001's row-level trigger never sees TRUNCATE (nor a TRUNCATE ... CASCADE from
admin.users): a statement-level trigger refuses it for every role, the owner included.
Privileges come second: whoever was granted UPDATE, DELETE or TRUNCATE on the table (the
runtime role, through the owner's default privileges) keeps SELECT and INSERT, and of
UPDATE only actor_id, which Django sets to NULL when a user is deleted. Role names are
not written here; deploy/postgres/roles.sql grants the same on every run.
"""

from django.db import migrations

TRUNCATE_GUARD_SQL = """
CREATE OR REPLACE FUNCTION admin.audit_entries_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_entries_no_truncate
    BEFORE TRUNCATE ON admin.audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION admin.audit_entries_no_truncate();
"""
DROP_TRUNCATE_GUARD_SQL = """
DROP TRIGGER IF EXISTS audit_entries_no_truncate ON admin.audit_entries;
DROP FUNCTION IF EXISTS admin.audit_entries_no_truncate();
"""

REVOKE_CHANGES_SQL = """
DO $$
DECLARE
    grantee record;
BEGIN
    FOR grantee IN
        SELECT a.grantee, bool_or(a.privilege_type = 'UPDATE') AS had_update
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'admin.audit_entries'::regclass
          AND a.grantee <> c.relowner
          AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
        GROUP BY a.grantee
    LOOP
        IF grantee.grantee = 0 THEN
            REVOKE UPDATE, DELETE, TRUNCATE ON admin.audit_entries FROM PUBLIC;
            CONTINUE;
        END IF;
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON admin.audit_entries FROM %s',
                       grantee.grantee::regrole);
        IF grantee.had_update THEN
            EXECUTE format('GRANT UPDATE (actor_id) ON admin.audit_entries TO %s',
                           grantee.grantee::regrole);
        END IF;
    END LOOP;
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(sql=TRUNCATE_GUARD_SQL, reverse_sql=DROP_TRUNCATE_GUARD_SQL),
        migrations.RunSQL(sql=REVOKE_CHANGES_SQL, reverse_sql=migrations.RunSQL.noop),
    ]
