"""Indexes for helpdesk's account search in the admin (issue 19), on PostgreSQL only.

accounts.admin.account_search looks for a term of three or more characters anywhere in
the login name, the name and the e-mail address: pg_trgm's GIN trigram indexes answer
those LIKE conditions (the login name as stored, lowercase; the name and the address
under UPPER(), as Django's icontains compares them). A shorter term matches names by their
start, answered by a btree with varchar_pattern_ops. The unit code is matched through the
unique index schools_unit already has.

pg_trgm ships with PostgreSQL and is a trusted extension (PostgreSQL 13+): the database's
owner may create it without being a superuser. The indexes are built CONCURRENTLY, so sign-
ins that write to the account table (last_login) are not held up while they build: the
migration is therefore not atomic. On SQLite (the embedded default) it does nothing.
"""

from django.db import migrations

INDEXES = {
    "account_username_trgm": "USING gin (username gin_trgm_ops)",
    "account_full_name_trgm": "USING gin ((UPPER(full_name::text)) gin_trgm_ops)",
    "account_email_trgm": "USING gin ((UPPER(email::text)) gin_trgm_ops)",
    "account_full_name_prefix": "(full_name varchar_pattern_ops)",
}


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL and does nothing on any other database."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0018_session_details"),
    ]

    operations = [
        PostgreSQLOnly(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            # Left in place on the way back: other objects of the database may use it.
            reverse_sql=migrations.RunSQL.noop,
        ),
        *(
            PostgreSQLOnly(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON accounts_account {how}",
                reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
            )
            for name, how in INDEXES.items()
        ),
    ]
