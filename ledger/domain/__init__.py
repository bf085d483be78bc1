"""The ledger's domain model: aggregates, events, the points rule book and its errors.

Nothing here touches a database; the application layer saves what these objects record.
"""
