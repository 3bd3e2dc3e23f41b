"""Backups of GT-Vision's PostgreSQL with pgBackRest, their restore, the check that the
encryption keys fit a restored database, and the restore drill (docs/operations.md)."""
