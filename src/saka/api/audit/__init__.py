"""The staff audit trail endpoint."""
