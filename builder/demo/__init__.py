"""The offline demo: the demo's speech generators and the command that runs every step on them."""
