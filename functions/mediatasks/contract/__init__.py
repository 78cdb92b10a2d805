"""The API's wire shapes, one module per version (selected by the Accept-Version header). Pure:
pydantic models and mappings from the latest task body; no storage and no HTTP framework."""
