"""The official release from Zenodo (``codecfake download``): its records and parts
(:mod:`.records`), HTTP with retries (:mod:`.session`), what DEST holds (:mod:`.plan`,
:mod:`.stamps`) and the resumable, verified download itself (:mod:`.download`)."""
