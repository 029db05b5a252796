"""Render Cypher query results as a standalone vis-network HTML page."""

from viewer.graph import ViewGraph, graph_from_rows
from viewer.render import render_html

__all__ = ["ViewGraph", "graph_from_rows", "render_html"]
