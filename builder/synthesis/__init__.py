"""Synthesis: settings, plan, read, resynthesize, write, state, provenance, merge (``codecfake synthesize``, ``codecfake merge-shards``)."""
