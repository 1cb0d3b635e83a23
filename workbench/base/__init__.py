"""What every layer shares: the store, settings, errors, filters, the run ledger."""
