"""Ruhepuls benchmark: `python -m bench` (see README). Real uvicorn, real redis-server, signed
Slack requests, a local fake Slack Web API in its own process, the load in another."""
