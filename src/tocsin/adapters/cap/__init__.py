"""CAP 1.2 adapters: XML documents (written, and read safely), the OASIS schema, Atom and RSS
feeds, and fetching other agencies' feeds with conditional GET."""
