"""Everything at the edge: settings, the web app, the platform adapters, the worker and the CLI."""
