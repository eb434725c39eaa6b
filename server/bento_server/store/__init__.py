"""Bento's store: Peewee models on SQLite (default) or PostgreSQL."""
