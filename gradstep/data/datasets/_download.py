"""Finding, downloading and verifying dataset files.

Downloads go to a temporary file beside the target, are hashed while they
stream, and are renamed into place only when the SHA-256 matches, so a
half-finished or corrupt download never looks like a dataset. Files already
present (in the cache or a ``root=`` folder the user gave) are trusted and
only parsed, with strict structural checks; pass ``verify=True`` to the
dataset function to hash them too.
"""
from __future__ import annotations

import hashlib
import os
import sys
import warnings
from pathlib import Path

from ...errors import GradstepError
from ...interop.safetensors import create_temp

__all__ = ["cache_dir", "sha256_file", "download", "ChecksumError", "DatasetNotFoundError"]


class ChecksumError(GradstepError, ValueError):
    """A file whose SHA-256 is not the published one."""


class DatasetNotFoundError(GradstepError, FileNotFoundError):
    """Dataset files that are neither on disk nor downloadable."""


def cache_dir() -> Path:
    """Where datasets are stored: ``$GRADSTEP_DATA``, else ``~/.cache/gradstep``."""
    env = os.environ.get("GRADSTEP_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gradstep"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, sha256: str | None, who: str) -> None:
    """Raise ChecksumError if ``path`` does not hash to ``sha256`` (warn when no hash is known)."""
    if sha256 is None:
        warnings.warn(f"{who}: no published SHA-256 is known for {path.name}; it was not verified", stacklevel=3)
        return
    digest = sha256_file(path)
    if digest != sha256:
        raise ChecksumError(f"{who}: {path} has SHA-256 {digest}, expected {sha256}; delete it and download it again")


def download(urls: list[str], dest: Path, sha256: str | None, who: str, quiet: bool = False) -> Path:
    """Fetch ``dest`` from the first of ``urls`` that works, verified, atomically.

    Raises:
        ChecksumError: a mirror served a file with the wrong SHA-256 (nothing is kept).
        DatasetNotFoundError: no mirror could be reached; the message says where
            to put the file by hand.
    """
    import urllib.request  # imported here: slow, and only needed when downloading

    dest = Path(dest)
    problems, bad_hash = [], []
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetNotFoundError(f"{who}: cannot create the folder {dest.parent} ({exc}); pass root=DIR "
                                   f"or set GRADSTEP_DATA to a writable folder") from None
    for url in urls:
        tmp = None
        try:
            if not quiet:
                print(f"{who}: downloading {url}", file=sys.stderr)
            with urllib.request.urlopen(url, timeout=60) as response:
                fd, tmp = create_temp(str(dest.parent), dest.name, ".part", target=str(dest))
                h = hashlib.sha256()
                with os.fdopen(fd, "wb") as f:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        h.update(chunk)
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
            digest = h.hexdigest()
            if sha256 is not None and digest != sha256:
                bad_hash.append(f"{url} gave SHA-256 {digest}")
                continue
            if sha256 is None:
                warnings.warn(f"{who}: no published SHA-256 is known for {dest.name}; saved it unverified", stacklevel=2)
            os.replace(tmp, dest)
            tmp = None
            return dest
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            problems.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
    if bad_hash:
        raise ChecksumError(f"{who}: {dest.name} did not match its published SHA-256 {sha256} "
                            f"({'; '.join(bad_hash)}); nothing was saved")
    first = urls[0] if urls else "the dataset's home page"
    raise DatasetNotFoundError(
        f"{who}: {dest.name} is not in {dest.parent} and could not be downloaded ({'; '.join(problems) or 'no URL'}); "
        f"fetch it from {first} and put it in {dest.parent}, or pass root=DIR (a folder that has it)"
    )
