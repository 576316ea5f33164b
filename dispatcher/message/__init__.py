"""The pure message core: the MIME message built once per send as bytes, its
per-recipient slots, header encoding, quoted-printable, DKIM, and the filling per recipient.

No database, broker or network code: plain values in, bytes out.
"""
