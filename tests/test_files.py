"""Atomic writes: all or nothing, with the permissions any other program would give the file."""

import os
import stat

import numpy as np
import pytest

from nnscratch import NeuralNetwork
from nnscratch.files import atomic_write, write_bytes, write_text
from nnscratch.serialization import save

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and umask")

UMASKS = [0o022, 0o077, 0o002, 0o027]


@pytest.fixture
def set_umask():
    """A function that sets the process umask; the previous one is restored afterwards."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def reference_mode(folder):
    """The mode a plain ``open(path, "w")`` gives a new file under the current umask."""
    path = folder / "reference.txt"
    with open(path, "w") as f:
        f.write("x")
    return mode(path)


@pytest.mark.parametrize("umask", UMASKS, ids=oct)
def test_new_files_get_the_umask_like_any_other_program(tmp_path, set_umask, umask):
    """write_text, write_bytes and save: 0o666 & ~umask, as open() gives a new file."""
    set_umask(umask)
    write_text(tmp_path / "report.html", "<html></html>")
    write_bytes(tmp_path / "figure.png", b"\x89PNG")
    save(NeuralNetwork.from_sizes([2, 3, 2], seed=0), tmp_path / "model.npz")
    expected = 0o666 & ~umask
    assert reference_mode(tmp_path) == expected
    for name in ("report.html", "figure.png", "model.npz"):
        assert mode(tmp_path / name) == expected, (name, oct(mode(tmp_path / name)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "figure.png", "model.npz", "reference.txt", "report.html"]  # no temporary left


@pytest.mark.parametrize("umask", UMASKS, ids=oct)
@pytest.mark.parametrize("existing", [0o600, 0o640, 0o644, 0o664, 0o755], ids=oct)
def test_a_replaced_file_keeps_its_permissions(tmp_path, set_umask, umask, existing):
    """Like ``cp`` onto an existing file or an editor saving by rename: the old mode stays."""
    path = tmp_path / "metrics.json"
    path.write_text("old")
    os.chmod(path, existing)
    set_umask(umask)
    write_text(path, "new")
    assert path.read_text() == "new"
    assert mode(path) == existing


def test_a_symbolic_link_gives_the_mode_of_its_target(tmp_path, set_umask):
    """Writing through a link: the new file takes the mode of the file the link points to."""
    target = tmp_path / "target.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    set_umask(0o022)
    write_text(link, "new")
    assert link.read_text() == "new" and mode(link) == 0o640


def test_a_failed_write_leaves_the_old_file_and_its_mode(tmp_path, set_umask):
    """An exception inside the block: old content, old mode, no temporary file."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    set_umask(0o077)
    with pytest.raises(RuntimeError, match="disk"), atomic_write(path) as f:
        f.write(np.arange(3).tobytes())
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old" and mode(path) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
