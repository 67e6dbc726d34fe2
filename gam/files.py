"""Writing files whole or not at all."""
import os
import tempfile


def write_atomically(path, text, mode=0o644):
    """Write ``text`` to ``path`` with ``mode``: a temporary file in the same
    folder renamed over it, so a reader never sees half a key or certificate."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
