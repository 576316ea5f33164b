"""The Celery edge: the app factory and the thin tasks that take ids and call
plain functions in ``dispatcher.sends``.
"""
