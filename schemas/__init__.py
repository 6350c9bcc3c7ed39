"""Built-in extraction schemas. Each module exposes its pydantic model as `SCHEMA`."""
