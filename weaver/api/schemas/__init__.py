"""The API's request and response models, one module per resource; separate from store rows and core types."""
