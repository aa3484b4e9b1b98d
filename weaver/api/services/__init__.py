"""What the routes call: services check a request against the domain and call the store (no SQL here)."""
