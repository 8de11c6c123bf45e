"""The array backend: host-memory reuse set up at import."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import ember
from ember import _backend


def _glibc() -> bool:
    return sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


@pytest.mark.skipif(not _glibc(), reason="the setting is glibc's")
def test_freed_memory_is_kept_on_glibc():
    assert _backend.host_memory_kept is True


def _kept_in_child(env_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("EMBER_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["EMBER_KEEP_FREED_MEMORY"] = env_value
    code = "import ember._backend as b; print(b.host_memory_kept)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not _glibc(), reason="the setting is glibc's")
def test_opt_out_leaves_the_allocator_alone():
    assert _kept_in_child(None) == "True"
    assert _kept_in_child("0") == "False"


def test_big_arrays_still_compute_after_reuse():
    # blocks freed by one step come back to the next one: values must not leak between them
    for step in range(3):
        a = ember.full((1024, 1024), float(step))
        b = ember.zeros(1024, 1024)
        assert float(a.sum()) == step * 1024 * 1024
        assert float(b.abs().sum()) == 0.0
