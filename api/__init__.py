"""The GraphQL API over the ledger."""
