"""Alembic's migrations; installed as the package data ``dispatcher._migrations``.

See :mod:`dispatcher.resources`: the build maps this folder into the package.
"""
