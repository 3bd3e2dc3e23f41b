"""PostgreSQL persistence of the streaming context (schema ``streaming``)."""
