"""Customer-facing documents rendered from stored records (invoice PDFs)."""
