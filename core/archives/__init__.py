"""Read the Codecfake release straight from its Zenodo archives, without extracting them.

The release comes as archives: ``train_split.zip`` + ``.z01`` .. ``.z16`` and ``dev_split.zip``
+ ``.z01``, ``.z02`` (Info-ZIP split sets, whose volumes Zenodo spreads over several records,
each holding one zip, ``data7/xyk/codecfake/upload_zenodo/train.zip``, under an absolute path),
and ``C1.zip`` .. ``C7.zip``, ``A1.zip`` .. ``A3.zip`` with inner layouts that differ. Python's
``zipfile`` reads no split set and builds an object per entry (466 bytes each); ``unzip`` reads
no split set either, and Info-ZIP 3.0's merge (``zip -s 0``) silently drops the data of a member
that spans more than two volumes, as the inner zip does: the "bad CRC ... overlapped components"
users report (official issue #9). So this package reads zips itself:

* :mod:`.records` parses the ZIP records (ZIP64 included), :mod:`.table` holds a central
  directory as flat arrays, :mod:`.sources` makes a split set (or a stored zip inside an
  archive) one address space, :mod:`.container` reads entries at random, :mod:`.streamed` reads
  a zip stored *deflated* inside an archive forward, and :mod:`.discovery` finds the archives
  and volumes in any subfolder;
* :mod:`.layout` places each file in the release (``label/``, ``train/``, ``dev/``,
  ``test/<condition>/``) by the names around it, whatever the prefixes; loose files and folders
  already extracted count too;
* :mod:`.scan` puts it together: :class:`ReleaseArchives`.

Every read checks the entry's size and CRC-32; a damaged byte, a truncated or missing volume
raises :class:`ArchiveError`, one line naming the file to download again (the *volume* of a
split set) and the entry.

Usage::

    from codecfake_core.archives import ReleaseArchives

    with ReleaseArchives.scan("downloads/codecfake") as release:
        rows = release.label("C4.txt")                 # bytes of label/C4.txt, or None
        folder = release.folders["test/C4"]            # a ReleaseFolder
        member = folder.get("F04_p225_001.wav")        # Member(path, size, crc, location)
        audio = release.read(member)                   # its bytes, checked
        for member, audio in release.read_in_order(folder):   # archive order: one pass
            ...
        reader = release.reader()  # picklable: reads members in a worker process
        release.random_access(member)  # False for a zip deflated inside another archive

A folder is read most cheaply in archive order (:meth:`ReleaseArchives.read_in_order`); for a
zip deflated inside another archive that order is the only cheap one, and only the process that
scanned can read it (``reader()`` refuses those members). Shards should then follow that order.
"""

from .errors import ArchiveError
from .members import ArchiveReader, Location, Member
from .scan import ReleaseArchives, ReleaseFolder

__all__ = [
    "ArchiveError",
    "ArchiveReader",
    "Location",
    "Member",
    "ReleaseArchives",
    "ReleaseFolder",
]
