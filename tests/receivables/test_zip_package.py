"""The statement's zip container as ``receivables.reminders.zip_package`` writes it: the same
bytes as ``zipfile`` for the same members, and a file any zip reader opens."""

from __future__ import annotations

import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.reminders import zip_package

STAMP = (1980, 1, 1, 0, 0, 0)
names = st.text(st.sampled_from("abcxyz_/.[]019"), min_size=1, max_size=40).filter(lambda n: not n.endswith("/"))
contents = st.one_of(st.binary(max_size=3000), st.text(max_size=2000).map(str.encode))


def zipfile_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """What the statement wrote with zipfile before: each member deflated at level 1, a fixed timestamp."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, content in members:
            package.writestr(zipfile.ZipInfo(name, STAMP), content, zipfile.ZIP_DEFLATED, 1)
    return buffer.getvalue()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(names, contents), max_size=9, unique_by=lambda m: m[0]))
def test_the_archive_is_the_bytes_zipfile_writes(members: list[tuple[str, bytes]]) -> None:
    written = zip_package.archive([zip_package.member(n, c) for n, c in members], zip_package.dos_stamp(STAMP))
    assert written == zipfile_bytes(members)
    with zipfile.ZipFile(io.BytesIO(written)) as package:
        assert package.testzip() is None
        assert [(i.filename, package.read(i)) for i in package.infolist()] == members


def test_a_timestamp_other_than_the_epoch_is_written_as_zipfile_writes_it() -> None:
    stamp = (2026, 12, 3, 17, 45, 58)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(zipfile.ZipInfo("a.xml", stamp), b"<a/>", zipfile.ZIP_DEFLATED, 1)
    assert (
        zip_package.archive([zip_package.member("a.xml", b"<a/>")], zip_package.dos_stamp(stamp)) == buffer.getvalue()
    )
