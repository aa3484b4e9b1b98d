"""What routes call: services that read and write through the store's repositories and the catalog."""
