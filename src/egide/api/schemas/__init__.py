"""Pydantic input and output schemas of the API, one module per resource, apart from the domain:
inputs bound sizes and types (the use cases check the rules), outputs document the JSON contracts
of the use cases (`egide.services.results.contract`) and allow extra keys, so they stay true."""
