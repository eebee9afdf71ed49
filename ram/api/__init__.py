"""The RAM OpenAPI (2015-05-01, RPC style) served at ``/`` beside the console.

``middleware`` recognises an API call and dispatches it; ``parsing`` turns the HTTP request into
parameters; ``auth`` verifies the Alibaba Cloud signature (``signature``: V1 and V3) and replay
protection (``nonces``); ``actions`` runs one RAM action through ``ram.services`` and
``ram.policy``; ``responses`` writes the JSON bodies the official SDKs expect.
"""
