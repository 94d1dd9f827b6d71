"""The JSON API (/api/v1): token authentication, read and write endpoints, OpenAPI document."""
