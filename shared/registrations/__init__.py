"""NH's registrations API: the Atom wire format, handle filters, and the HTTP handlers.

Registrations are stored, indexed, sent to, pruned, expired, listed and exported as device
documents of the one registry (``shared.store``, ``shared.registry``); this package is only
the wire layer NH's registration clients speak.
"""
