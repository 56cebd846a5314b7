"""I9110: what doctor could not check; the other rules report their "cannot tell" findings under it."""

from hookkit.ci.doctor.base import CannotCheck

__all__ = ["CannotCheck"]
