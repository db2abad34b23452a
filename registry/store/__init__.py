"""Durable state behind one interface (`Store`); backends live beside it. No SQL outside here."""
