"""The loadable dataset folder: plan, shards, manifest, card, prepare, add (``codecfake prepare``)."""
