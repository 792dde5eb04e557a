from portal_helpers import sender  # noqa: F401  (a fixture)
