"""The Hub: validate a dataset folder and publish it (``codecfake publish``)."""
