"""How values look on the wire: JSON encoding with exact sizes, the optional fast JSON
backend, and message ids. Leaf modules: they import nothing else of the package."""
