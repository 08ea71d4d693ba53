"""Full-text search of messages (issue 17): on SQLite an FTS5 table kept in step by
chat/services/search_index.py; on PostgreSQL a stored generated tsvector column with a GIN index,
in the language SEARCH_LANGUAGE names when this migration runs (docs/search.md). Neither is a
model field: the search service queries them directly."""

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS chat_message_fts USING fts5("
                "content, tokenize = 'unicode61 remove_diacritics 2')"
            )
            cursor.execute(
                "INSERT INTO chat_message_fts (rowid, content) SELECT id, content FROM chat_message "
                "WHERE redacted_at IS NULL AND content <> ''"
            )
        elif connection.vendor == "postgresql":
            language = getattr(settings, "SEARCH_LANGUAGE", "english")
            cursor.execute(
                "ALTER TABLE chat_message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
                f"(to_tsvector('{language}'::regconfig, coalesce(content, ''))) STORED"
            )
            cursor.execute("CREATE INDEX chat_message_search_idx ON chat_message USING GIN (search_vector)")


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TABLE IF EXISTS chat_message_fts")
        elif connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS chat_message_search_idx")
            cursor.execute("ALTER TABLE chat_message DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("chat", "0006_replies_and_reactions")]

    operations = [migrations.RunPython(forwards, backwards)]
