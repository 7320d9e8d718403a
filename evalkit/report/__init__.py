"""HTML report rendering."""
