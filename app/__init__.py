"""Frontline: a temporal territorial-control store on PostGIS."""

__version__ = "0.1.0"
