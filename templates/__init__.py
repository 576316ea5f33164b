"""Email and web templates; installed as the package data ``dispatcher._templates``.

See :mod:`dispatcher.resources`: the build maps this folder into the package.
"""
