"""The demonstration scenario: real geometry, real series, replayed faster than real time."""
