"""Shipped YAML configs (package data). Resolve one with ``gen3d.config.config_path(name)``."""
